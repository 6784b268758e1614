"""The app's API and pages: configuration, device token from the session only, visits over HTTP,
bad input as problem+json, the shell, the manifest and the service worker."""

import json

import pytest
from django.test import Client

from beistand.accounts.models import ApiToken
from beistand.mobile.models import Visit

pytestmark = pytest.mark.django_db


def _post(client, path, body=None, **headers):
    return client.post(path, json.dumps(body) if body is not None else "",
                       content_type="application/json", **headers)


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_config(client, people, bearer, settings):
    settings.SMS_GATEWAY_NUMBER = "+49 170 9999999"
    settings.APP_TRIGGER_MODE = "slide"
    data = client.get("/api/v1/app/config", **bearer(people["sender"])).json()
    assert data["sms_gateway_number"] == "+49 170 9999999"
    assert data["trigger"] == {"mode": "slide", "hold_ms": 1500, "sms_after_s": 5}
    assert [t["code"] for t in data["templates"]][:2] == ["beistand", "bedrohung"]
    assert "amok" not in [t["code"] for t in data["templates"]]
    assert data["user"]["name"] == "Erika Sender"
    assert data["can_lookup"] is False


def test_api_needs_credentials(client, people):
    _problem(client.get("/api/v1/app/config"), 401)
    _problem(client.get("/api/v1/visits/current"), 401)
    _problem(_post(client, "/api/v1/visits", {"address": "Am Markt 1", "minutes": 5}), 401)


def test_device_token_from_the_session_only(people, bearer):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(people["sender"])
    browser.get("/app/verbinden/")  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    _problem(_post(browser, "/api/v1/app/device-token", {"device_name": "Android"}), 403)
    response = _post(browser, "/api/v1/app/device-token", {"device_name": "Android Chrome"},
                     HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    row = ApiToken.objects.get(pk=response.json()["id"])
    assert row.name == "Handy-App: Android Chrome" and row.user == people["sender"]
    assert row.expires_at is not None
    api = Client()
    assert api.get("/api/v1/app/config",
                   HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    # A token cannot mint its successor.
    _problem(_post(api, "/api/v1/app/device-token", {}, HTTP_AUTHORIZATION=f"Bearer {token}"),
             403)


def test_visit_over_http(client, people, bearer):
    auth = bearer(people["sender"])
    assert client.get("/api/v1/visits/current", **auth).status_code == 204
    response = _post(client, "/api/v1/visits",
                     {"address": "Lindenweg 7, 12345 Teststadt", "minutes": 30,
                      "position": {"lat": 50.94, "lon": 6.95, "accuracy_m": 12}}, **auth)
    assert response.status_code == 201, response.content
    visit = response.json()
    assert visit["state"] == "running" and visit["state_label"] == "läuft"
    assert client.get("/api/v1/visits/current", **auth).json()["id"] == visit["id"]
    _problem(_post(client, "/api/v1/visits", {"address": "Anderswo 1", "minutes": 10}, **auth),
             409)
    answer = _post(client, f"/api/v1/visits/{visit['id']}/checkin", {"minutes": 15}, **auth)
    assert answer.status_code == 200 and answer.json()["state"] == "running"
    moved = _post(client, f"/api/v1/visits/{visit['id']}/position",
                  {"lat": 50.95, "lon": 6.96}, **auth)
    assert moved.status_code == 200
    # Someone else's visit does not exist for them.
    other = bearer(people["neighbour"])
    _problem(_post(client, f"/api/v1/visits/{visit['id']}/end", **other), 404)
    ended = _post(client, f"/api/v1/visits/{visit['id']}/end", **auth)
    assert ended.json()["state"] == "ended"
    assert client.get("/api/v1/visits/current", **auth).status_code == 204
    _problem(_post(client, f"/api/v1/visits/{visit['id']}/position",
                   {"lat": 50.95, "lon": 6.96}, **auth), 409)


@pytest.mark.parametrize("body, field", [
    ({"address": "", "minutes": 30}, "address"),
    ({"address": "Am Markt 1", "minutes": 0}, "minutes"),
    ({"address": "Am Markt 1", "minutes": 100000}, "minutes"),
    ({"address": "Am Markt 1", "minutes": "viele"}, "minutes"),
    ({"address": "x" * 201, "minutes": 30}, "address"),
    ({"address": "Am Markt 1", "minutes": 30, "position": {"lat": 91, "lon": 0}}, "position"),
    ({"address": "Am Markt 1", "minutes": 30, "extra": 1}, "extra"),
    ({"address": "Am\x00Markt", "minutes": 30}, "address"),
])
def test_bad_visit_input(client, people, bearer, body, field):
    data = _problem(_post(client, "/api/v1/visits", body, **bearer(people["sender"])), 400)
    assert field in json.dumps(data)
    assert not Visit.objects.exists()


def test_max_minutes_setting(client, people, bearer, settings):
    settings.VISIT_MAX_MINUTES = 60
    data = _problem(_post(client, "/api/v1/visits", {"address": "Am Markt 1", "minutes": 90},
                          **bearer(people["sender"])), 400)
    assert "60" in data["detail"]


def test_malformed_json(client, people, bearer):
    response = client.post("/api/v1/visits", "{kaputt", content_type="application/json",
                           **bearer(people["sender"]))
    _problem(response, 400)


def test_shell_manifest_and_service_worker(client, db):
    shell = client.get("/app/")
    assert shell.status_code == 200
    html = shell.content.decode()
    assert 'rel="manifest" href="/app/manifest.webmanifest"' in html
    assert '<script type="module" src="/static/mobile/app.js">' in html
    assert "<script>" not in html  # CSP: no inline script
    manifest = client.get("/app/manifest.webmanifest")
    assert manifest["Content-Type"].startswith("application/manifest+json")
    data = manifest.json()
    assert data["start_url"] == "/app/" and data["scope"] == "/app/"
    assert data["display"] == "standalone"
    assert {i["sizes"] for i in data["icons"]} == {"192x192", "512x512"}
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/app/sw.js")
    assert sw["Content-Type"].startswith("text/javascript")
    assert sw["Service-Worker-Allowed"] == "/app/"
    assert sw["Cache-Control"] == "no-cache"
    assert '"/static/mobile/app.js"' in sw.content.decode()


def test_connect_page_needs_login(client, db):
    response = client.get("/app/verbinden/")
    assert response.status_code == 302
    assert "/konto/anmelden/" in response["Location"]
