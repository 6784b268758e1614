/* beistand phone app: service worker (scope {{ app_url }}), version {{ version }}.
 *
 * - keeps the app shell (HTML, CSS, JS modules, icons) for an offline start: network first,
 *   the cached copy when there is no network;
 * - never caches the API or the WebSocket (alarms are live data);
 * - shows Web Push notifications with actions and opens the app on a click.
 */
"use strict";
var CACHE = "beistand-app-{{ version }}";
var SHELL = {{ shell_urls|safe }};

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf("beistand-app-") === 0 && k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  var shellHit = SHELL.indexOf(url.pathname) !== -1;
  if (!shellHit) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(url.pathname).then(function (hit) {
      return hit || new Response("Offline", {status: 503, headers: {"Content-Type": "text/plain; charset=utf-8"}});
    });
  }));
});

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = {body: event.data ? event.data.text() : ""}; }
  var title = data.title || "beistand: Alarm";
  var options = {
    body: data.body || "Bitte die App öffnen.",
    tag: data.tag || "beistand-alarm",
    renotify: true, requireInteraction: true,
    icon: "{{ icon_url }}",
    vibrate: [500, 200, 500, 200, 500],
    data: {url: data.url || "{{ app_url }}", alarm_id: data.alarm_id || null},
    actions: data.alarm_id ? [{action: "coming", title: "Ich komme"}, {action: "open", title: "Öffnen"}] : []
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var data = event.notification.data || {};
  var target = data.url || "{{ app_url }}";
  if (event.action === "coming" && data.alarm_id) {
    target = "{{ app_url }}#respond=coming&alarm=" + encodeURIComponent(data.alarm_id);
  }
  event.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true}).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (list[i].url.indexOf("{{ app_url }}") !== -1 && "focus" in list[i]) {
        list[i].postMessage({type: "notification", action: event.action, alarm_id: data.alarm_id});
        return list[i].focus();
      }
    }
    return self.clients.openWindow(target);
  }));
});
