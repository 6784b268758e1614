/* Logging out removes the local report drafts of this browser.
 *
 * Report drafts (kept in localStorage so a report survives a lost connection) contain the
 * narrative and the perpetrator's identity. On a shared PC the next person must not find them,
 * so logging out deletes them — after asking, because a draft may hold a report that has not
 * been sent yet.
 */
(function () {
  "use strict";

  var PREFIX = "beistand:report-draft:";

  function draftKeys() {
    var keys = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var key = localStorage.key(i);
        if (key && key.indexOf(PREFIX) === 0) { keys.push(key); }
      }
    } catch (e) { /* storage disabled: nothing stored either */ }
    return keys;
  }

  function pending(keys) {
    return keys.some(function (key) {
      try { return (JSON.parse(localStorage.getItem(key)) || {}).pending === true; }
      catch (e) { return false; }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-logout")) { return; }
    var keys = draftKeys();
    if (!keys.length) { return; }
    var question = pending(keys)
      ? "Eine Meldung wartet noch auf Versand (keine Verbindung). Beim Abmelden wird sie von " +
        "diesem Gerät gelöscht und nicht gesendet. Trotzdem abmelden?"
      : "Auf diesem Gerät liegt ein Meldungsentwurf. Beim Abmelden wird er gelöscht, damit " +
        "niemand sonst ihn lesen kann. Trotzdem abmelden?";
    if (!window.confirm(question)) {
      event.preventDefault();
      return;
    }
    keys.forEach(function (key) { localStorage.removeItem(key); });
  });
}());
