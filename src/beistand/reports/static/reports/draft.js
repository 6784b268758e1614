/* Report form: progressive enhancement on top of a form that works without JavaScript.
 *
 * - keeps a draft of the form in localStorage on every input and restores it on load;
 * - submits with fetch; without a connection the draft is kept as "pending" and sent on the
 *   `online` event (same view, same CSRF token; the server answers JSON for these requests);
 * - "add another" blocks, office/field switch, "Standort übernehmen", colleague suggestions.
 *
 * Attachments (files) cannot be kept in localStorage: they are sent only with an online submit.
 */
(function () {
  "use strict";

  var PREFIX = "beistand:report-draft:";
  var OFFLINE_TEXT = "Keine Verbindung – die Meldung wird gesendet, sobald Sie wieder online sind.";
  var DRAFT_HEADER = "X-Beistand-Draft";

  // The case page after a save tells us which local draft to forget.
  function clearFromMarker() {
    var marker = document.querySelector("[data-clear-draft]");
    if (marker && marker.getAttribute("data-clear-draft")) {
      try { localStorage.removeItem(PREFIX + marker.getAttribute("data-clear-draft")); } catch (e) { /* storage off */ }
    }
  }

  function storage() {
    try {
      var probe = PREFIX + "probe";
      localStorage.setItem(probe, "1");
      localStorage.removeItem(probe);
      return localStorage;
    } catch (e) {
      return null;
    }
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function init() {
    clearFromMarker();
    var form = document.getElementById("report-form");
    if (!form) { return; }
    var store = storage();
    var key = PREFIX + form.getAttribute("data-draft-key");
    var status = document.getElementById("draft-status");
    var sending = false;
    var restoredBlocks = [];

    // --- status messages (one live region) ----------------------------------------------
    function notice(tone, title, extra) {
      status.textContent = "";
      var header = el("div", {"class": "kern-alert__header"}, [
        el("span", {"class": "kern-icon kern-icon--" + tone, "aria-hidden": "true"}),
        el("span", {"class": "kern-title", text: title})
      ]);
      var box = el("div", {"class": "kern-alert kern-alert--" + tone}, [header]);
      if (extra) { box.appendChild(el("div", {"class": "kern-alert__body"}, extra)); }
      status.appendChild(box);
    }

    // --- draft in localStorage ------------------------------------------------------------
    function serialize() {
      var fields = [];
      Array.prototype.forEach.call(form.elements, function (input) {
        if (!input.name || input.disabled || input.name === "csrfmiddlewaretoken") { return; }
        if (input.type === "file" || input.type === "submit" || input.type === "button") { return; }
        if ((input.type === "checkbox" || input.type === "radio") && !input.checked) { return; }
        fields.push([input.name, input.value]);
      });
      return fields;
    }

    function readDraft() {
      if (!store) { return null; }
      try { return JSON.parse(store.getItem(key) || "null"); } catch (e) { return null; }
    }

    function writeDraft(extra) {
      if (!store) { return; }
      var previous = readDraft() || {};
      var draft = {v: 1, savedAt: new Date().toISOString(), fields: serialize(),
                   action: form.getAttribute("action"), pending: !!previous.pending,
                   intent: previous.intent || "submit"};
      Object.keys(extra || {}).forEach(function (k) { draft[k] = extra[k]; });
      try { store.setItem(key, JSON.stringify(draft)); } catch (e) { /* quota: keep going */ }
    }

    function clearDraft() {
      if (store) { store.removeItem(key); }
    }

    function totalInput(name) {
      var list = form.querySelector('[data-repeat-list="' + name + '"]');
      var prefix = {victims: "v", perpetrators: "p", witnesses: "w"}[name];
      return {list: list, total: form.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]')};
    }

    function restore(draft) {
      var values = {};
      draft.fields.forEach(function (pair) {
        (values[pair[0]] = values[pair[0]] || []).push(pair[1]);
      });
      // First create as many repeated blocks as the draft had.
      ["victims", "perpetrators", "witnesses"].forEach(function (name) {
        var parts = totalInput(name);
        var prefix = {victims: "v", perpetrators: "p", witnesses: "w"}[name];
        var wanted = parseInt((values[prefix + "-TOTAL_FORMS"] || ["0"])[0], 10) || 0;
        while (parts.total && parseInt(parts.total.value, 10) < wanted) {
          restoredBlocks.push(addBlock(name, false));
        }
      });
      Array.prototype.forEach.call(form.elements, function (input) {
        if (!input.name || input.name === "csrfmiddlewaretoken" || /-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS$/.test(input.name)) { return; }
        if (input.type === "file" || input.type === "submit" || input.type === "button") { return; }
        var stored = values[input.name];
        if (input.type === "checkbox" || input.type === "radio") {
          input.checked = !!stored && stored.indexOf(input.value) !== -1;
        } else if (stored !== undefined) {
          input.value = stored.length ? stored.shift() : "";
        }
      });
      updateLocation();
    }

    function discard() {
      clearDraft();
      restoredBlocks.forEach(function (block) {
        if (block && block.parentNode) {
          var name = block.getAttribute("data-repeat-item");
          block.parentNode.removeChild(block);
          var total = totalInput(name).total;
          total.value = String(parseInt(total.value, 10) - 1);
        }
      });
      restoredBlocks = [];
      form.reset();
      updateLocation();
      notice("info", "Entwurf verworfen. Das Formular ist wieder leer.");
    }

    function savedAtText(draft) {
      var d = new Date(draft.savedAt);
      return isNaN(d) ? "" : d.toLocaleString("de-DE", {dateStyle: "medium", timeStyle: "short"});
    }

    // --- repeated blocks ------------------------------------------------------------------
    function addBlock(name, focus) {
      var parts = totalInput(name);
      var template = document.getElementById("tpl-" + name);
      if (!parts.list || !parts.total || !template) { return null; }
      var index = parseInt(parts.total.value, 10) || 0;
      var html = template.innerHTML.replace(/__prefix__/g, String(index))
                                   .replace(/__num__/g, String(index + 1));
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var block = holder.firstElementChild;
      parts.list.appendChild(block);
      parts.total.value = String(index + 1);
      bindColleagueSearch(block);
      if (focus) {
        var first = block.querySelector("input:not([type=radio]), select, textarea");
        if (first) { first.focus(); }
      }
      return block;
    }

    form.addEventListener("click", function (event) {
      var button = event.target.closest("[data-add]");
      if (!button) { return; }
      event.preventDefault();
      addBlock(button.getAttribute("data-add"), true);
      writeDraft();
    });

    // --- office / field -------------------------------------------------------------------
    function updateLocation() {
      var checked = form.querySelector("input[data-location-kind]:checked");
      var kind = checked ? checked.value : "office";
      Array.prototype.forEach.call(form.querySelectorAll("[data-when]"), function (node) {
        node.hidden = node.getAttribute("data-when") !== kind;
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target.hasAttribute("data-location-kind")) { updateLocation(); }
    });

    // --- geolocation ----------------------------------------------------------------------
    var geoButton = document.getElementById("geo-button");
    var geoStatus = document.getElementById("geo-status");
    if (geoButton && "geolocation" in navigator) {
      geoButton.hidden = false;
      geoButton.addEventListener("click", function () {
        geoStatus.textContent = "Standort wird ermittelt …";
        navigator.geolocation.getCurrentPosition(function (pos) {
          form.elements.lat.value = pos.coords.latitude.toFixed(6);
          form.elements.lon.value = pos.coords.longitude.toFixed(6);
          geoStatus.textContent = "Standort übernommen (Genauigkeit etwa " +
            Math.round(pos.coords.accuracy) + " m). Bitte die Adresse ergänzen.";
          writeDraft();
        }, function (err) {
          geoStatus.textContent = err.code === 1
            ? "Standort nicht freigegeben. Bitte tragen Sie die Adresse ein."
            : "Standort nicht verfügbar. Bitte tragen Sie die Adresse ein.";
        }, {enableHighAccuracy: true, timeout: 15000, maximumAge: 60000});
      });
    }

    // --- colleague suggestions ------------------------------------------------------------
    var datalist = document.getElementById("colleague-options");
    var searchUrl = form.getAttribute("data-colleague-url");
    var searchTimer = null;
    function bindColleagueSearch(root) {
      Array.prototype.forEach.call(root.querySelectorAll("[data-colleague-search]"), function (input) {
        input.addEventListener("input", function () {
          clearTimeout(searchTimer);
          var q = input.value.trim();
          if (q.length < 2 || !navigator.onLine) { return; }
          searchTimer = setTimeout(function () {
            fetch(searchUrl + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
              .then(function (r) { return r.ok ? r.json() : {results: []}; })
              .then(function (data) {
                datalist.textContent = "";
                data.results.forEach(function (item) {
                  datalist.appendChild(el("option", {value: item.value, label: item.unit}));
                });
              })
              .catch(function () { /* suggestions are a convenience */ });
          }, 250);
        });
      });
    }
    bindColleagueSearch(form);

    // --- submit -----------------------------------------------------------------------------
    function setBusy(busy) {
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) {
        b.disabled = busy;
      });
    }

    function csrfToken() {
      var input = form.querySelector('input[name="csrfmiddlewaretoken"]');
      return input ? input.value : "";
    }

    function postWithHeader(body) {
      return fetch(form.getAttribute("action"), {
        method: "POST", body: body, credentials: "same-origin", cache: "no-store",
        headers: (function () { var h = {"X-CSRFToken": csrfToken()}; h[DRAFT_HEADER] = "1"; return h; })()
      });
    }

    function keepPending(intent) {
      writeDraft({pending: true, intent: intent});
      notice("warning", OFFLINE_TEXT, [el("p", {"class": "kern-body",
        text: "Ihre Angaben sind auf diesem Gerät gespeichert. Lassen Sie diese Seite geöffnet." +
              " Anlagen müssen Sie danach gegebenenfalls erneut hinzufügen."})]);
    }

    function resultLink(data) {
      return [el("p", {"class": "kern-body"}, [
        el("a", {"class": "kern-link", href: data.url, text: "Meldung " + data.reference + " ansehen"})])];
    }

    function showServerErrors(data) {
      var items = (data.errors || []).map(function (e) {
        return el("li", {text: (e.label ? e.label + ": " : "") + e.detail});
      });
      notice("danger", "Die Meldung konnte nicht gesendet werden. Bitte prüfen Sie Ihre Angaben; der Entwurf bleibt erhalten.",
             [el("ul", {"class": "kern-list"}, items)]);
    }

    var nativeSubmit = false;
    form.addEventListener("submit", function (event) {
      if (nativeSubmit) { return; }
      var submitter = event.submitter;
      if (submitter && submitter.name === "add") { return; }
      event.preventDefault();
      if (sending) { return; }
      var intent = submitter && submitter.name === "intent" ? submitter.value : "submit";
      writeDraft({intent: intent});
      if (!navigator.onLine) { keepPending(intent); return; }
      var body = new FormData(form);
      body.set("intent", intent);
      sending = true;
      setBusy(true);
      notice("info", "Die Meldung wird gesendet …");
      postWithHeader(body).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if ((response.status === 201 || response.status === 400) && type.indexOf("json") !== -1) {
          return response.json().then(function (data) {
            if (response.status === 201) {
              clearDraft();
              window.location.assign(data.url);
              return;
            }
            // Show the errors the server's way: at the fields, with all entered data kept.
            nativeSubmit = true;
            setBusy(false);
            form.requestSubmit(submitter || undefined);
          });
        }
        nativeSubmit = true;
        setBusy(false);
        form.requestSubmit(submitter || undefined);
      }).catch(function () {
        keepPending(intent);
      }).then(function () {
        sending = false;
        if (!nativeSubmit) { setBusy(false); }
      });
    });

    // A pending draft is sent as soon as the connection is back.
    function sendPending() {
      var draft = readDraft();
      if (!draft || !draft.pending || sending || !navigator.onLine) { return; }
      var body = new FormData();
      draft.fields.forEach(function (pair) { body.append(pair[0], pair[1]); });
      body.set("csrfmiddlewaretoken", csrfToken());
      body.set("intent", draft.intent || "submit");
      sending = true;
      setBusy(true);
      notice("info", "Verbindung wieder da – die Meldung wird gesendet …");
      postWithHeader(body).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("json") === -1) { throw new Error("HTTP " + response.status); }
        return response.json().then(function (data) {
          if (response.status === 201) {
            clearDraft();
            discardBlocksAndReset();
            notice("success", draft.intent === "draft"
              ? "Ihr Entwurf " + data.reference + " ist jetzt gespeichert."
              : "Ihre Meldung " + data.reference + " ist gesendet.", resultLink(data));
          } else {
            writeDraft({pending: false});
            showServerErrors(data);
          }
        });
      }).catch(function () {
        keepPending(draft.intent || "submit");
      }).then(function () {
        sending = false;
        setBusy(false);
      });
    }

    function discardBlocksAndReset() {
      restoredBlocks.forEach(function (block) {
        if (block && block.parentNode) {
          var total = totalInput(block.getAttribute("data-repeat-item")).total;
          block.parentNode.removeChild(block);
          total.value = String(parseInt(total.value, 10) - 1);
        }
      });
      restoredBlocks = [];
      form.reset();
      updateLocation();
    }

    window.addEventListener("online", sendPending);
    window.addEventListener("offline", function () {
      var draft = readDraft();
      if (draft && draft.pending) { keepPending(draft.intent); }
    });

    // --- start ------------------------------------------------------------------------------
    updateLocation();
    var existing = readDraft();
    if (form.getAttribute("data-bound") === "1") {
      // The server shows this form with errors: its content is the newest state.
      writeDraft({pending: false});
    } else if (existing && existing.fields && existing.fields.length) {
      restore(existing);
      var discardButton = el("button", {type: "button", "class": "kern-btn kern-btn--secondary kern-btn--small"},
                             [el("span", {"class": "kern-label", text: "Entwurf verwerfen"})]);
      discardButton.addEventListener("click", discard);
      notice("info", "Entwurf wiederhergestellt", [
        el("p", {"class": "kern-body", text: "Ihre Angaben vom " + savedAtText(existing) +
                 " waren auf diesem Gerät gespeichert und sind wieder eingetragen."}),
        discardButton]);
      if (existing.pending) {
        if (navigator.onLine) { sendPending(); } else { keepPending(existing.intent); }
      }
    }
    form.addEventListener("input", function () { writeDraft(); });
    form.addEventListener("change", function () { writeDraft(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
