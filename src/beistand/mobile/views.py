"""The phone web app at ``/app/``: the app shell (public, no personal data, cached by the service
worker for offline start), the pairing page that turns a browser login into a device token, the
web manifest and the service worker."""

import hashlib
import json
from functools import cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from beistand.organisation.services import body_name

APP_SCOPE = "/app/"
# Files of the app shell the service worker keeps for an offline start.
SHELL_STATIC = [
    "vendor/kern/fonts/fira-sans.css", "vendor/kern/kern.min.css", "mobile/app.css",
    "mobile/app.js", "alarms/alarm-socket.js", "alarms/alarm-state.js", "alarms/ui.js",
    "mobile/geo.js", "mobile/visit.js", "mobile/sms.js", "mobile/store.js",
    "mobile/icons/icon-192.png", "mobile/icons/apple-touch-icon.png",
]


@cache
def _shell_version() -> str:
    """Changes whenever a file of the shell changes: a new service worker, a fresh cache."""
    digest = hashlib.sha256()
    for name in SHELL_STATIC:
        path = finders.find(name)
        if path:
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:12]


@require_GET
def app(request):
    """The app shell. Public on purpose: everything personal comes from the API with the device
    token, so the shell can start offline and reveals nothing about the phone's owner."""
    response = render(request, "mobile/app.html", {
        "login_url": f"{reverse('accounts:login')}?next={reverse('mobile:connect')}",
        "report_url": reverse("reports:new"), "lookup_url": reverse("register:lookup"),
        "security_url": reverse("accounts:security"),
    })
    response["Cache-Control"] = "no-cache"
    return response


@never_cache
@login_required
def connect(request):
    """After the browser login (with second factor where required): create this phone's token
    (the page's script posts to the API with the session) and return to the app."""
    return render(request, "mobile/connect.html", {"app_url": reverse("mobile:app")})


@require_GET
def manifest(request):
    name = body_name()
    data = {
        "name": f"beistand{' – ' + name if name else ''}",
        "short_name": "beistand",
        "description": "Stiller Alarm, Zeitalarm für Besuche, Meldungen und Auskunft unterwegs",
        "lang": "de", "dir": "ltr",
        "id": APP_SCOPE, "start_url": APP_SCOPE, "scope": APP_SCOPE,
        "display": "standalone", "orientation": "portrait",
        "background_color": "#0b3a66", "theme_color": "#0b3a66",
        "icons": [
            {"src": static("mobile/icons/icon-192.png"), "sizes": "192x192", "type": "image/png",
             "purpose": "any"},
            {"src": static("mobile/icons/icon-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "any"},
            {"src": static("mobile/icons/icon-maskable-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
    }
    response = HttpResponse(json.dumps(data, ensure_ascii=False),
                            content_type="application/manifest+json; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def service_worker(request):
    shell_urls = [APP_SCOPE, *(static(name) for name in SHELL_STATIC)]
    response = render(request, "mobile/sw.js", {
        "version": _shell_version(), "shell_urls": json.dumps(shell_urls),
        "app_url": APP_SCOPE, "icon_url": static("mobile/icons/icon-192.png"),
    }, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = APP_SCOPE
    response["Cache-Control"] = "no-cache"
    return response
