"""Device tokens (workstations, desk phones, button hubs): API and the admin page."""

import json

import pytest

from beistand.accounts.models import DeviceToken
from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from tests.accounts.helpers import actions_since, audit_mark, login_verified

pytestmark = pytest.mark.django_db


def post_json(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def admin(make_user):
    return make_user("admin", roles=[Role.ADMIN])


# --- API ----------------------------------------------------------------------------------------

def test_create_list_selfcheck_revoke(client, org, admin, bearer):
    headers = bearer(admin)
    room = org["rooms"][0]
    mark = audit_mark()
    created = post_json(client, "/api/v1/devices",
                        {"name": "PC Raum 1.01", "kind": "workstation", "room_id": room.pk},
                        **headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["token"].startswith("bsd_")
    assert body["room_id"] == room.pk
    device = DeviceToken.objects.get(pk=body["id"])
    assert device.token_hash != body["token"]
    assert device.created_by == admin
    event = AuditEvent.objects.get(seq__gt=mark, action="accounts.devicetoken.create")
    assert event.actor_label == "admin"
    assert "token_hash" not in (event.after or {})

    listed = client.get("/api/v1/devices", **headers).json()
    assert [d["name"] for d in listed] == ["PC Raum 1.01"]
    assert "token" not in listed[0]

    device_headers = {"HTTP_AUTHORIZATION": f"Bearer {body['token']}"}
    me = client.get("/api/v1/devices/self", **device_headers)
    assert me.status_code == 200
    assert me.json()["name"] == "PC Raum 1.01"
    device.refresh_from_db()
    assert device.last_seen_at is not None

    assert client.delete(f"/api/v1/devices/{device.pk}", **headers).status_code == 204
    gone = client.get("/api/v1/devices/self", **device_headers)
    assert gone.status_code == 401
    assert gone["Content-Type"] == "application/problem+json"


def test_device_token_is_not_a_person_token(client, org, admin, bearer):
    headers = bearer(admin)
    body = post_json(client, "/api/v1/devices",
                     {"name": "Hub", "kind": "button_hub", "room_id": org["rooms"][1].pk},
                     **headers).json()
    device_headers = {"HTTP_AUTHORIZATION": f"Bearer {body['token']}"}
    assert client.get("/api/v1/auth/me", **device_headers).status_code == 401
    # ... and a person's token is no device token.
    assert client.get("/api/v1/devices/self", **headers).status_code == 401


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_non_admin_gets_403_and_nothing_changes(client, org, make_user, bearer, role):
    user = make_user("jemand", roles=[role] if role not in (Role.REPORTER,
                                                              Role.SUPERVISOR) else [],
                     head_of=org["abt"] if role == Role.SUPERVISOR else None)
    headers = bearer(user)
    mark = audit_mark()
    response = post_json(client, "/api/v1/devices",
                         {"name": "PC", "kind": "workstation", "room_id": org["rooms"][0].pk},
                         **headers)
    assert response.status_code == 403
    assert "Administration" in response.json()["detail"]
    assert client.get("/api/v1/devices", **headers).status_code == 403
    assert DeviceToken.objects.count() == 0
    assert actions_since(mark) == []


@pytest.mark.parametrize("body,field", [
    ({"name": "PC", "kind": "workstation", "room_id": 999999}, "room_id"),
    ({"name": "PC", "kind": "toaster", "room_id": None, "username": "admin"}, "kind"),
    ({"name": "", "kind": "workstation", "username": "admin"}, "name"),
    ({"name": "PC", "kind": "workstation"}, "room"),
    ({"name": "PC", "kind": "workstation", "username": "niemand"}, "username"),
    ({"name": "PC", "kind": "workstation", "room_id": "eins"}, "room_id"),
    ({"name": "PC", "kind": "workstation", "room_id": 1, "secret": "x"}, "secret"),
])
def test_bad_input_400_names_field_and_changes_nothing(client, org, admin, bearer, body, field):
    headers = bearer(admin)
    mark = audit_mark()
    response = post_json(client, "/api/v1/devices", body, **headers)
    assert response.status_code == 400, response.content
    problem = response.json()
    assert any(e["field"] == field for e in problem.get("errors", [])), problem
    assert DeviceToken.objects.count() == 0
    assert actions_since(mark) == []


def test_revoke_unknown_device_404(client, org, admin, bearer):
    assert client.delete("/api/v1/devices/424242", **bearer(admin)).status_code == 404


# --- admin page ---------------------------------------------------------------------------------

def test_page_creates_and_shows_token_exactly_once(client, org, admin):
    login_verified(client, admin)
    page = client.get("/konto/verwaltung/geraete/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<label class="kern-label" for="id_name">Bezeichnung' in html
    assert '<label class="kern-label" for="id_room">Raum' in html

    room = org["rooms"][2]
    response = client.post("/konto/verwaltung/geraete/",
                           {"name": "Tischtelefon 1.03", "kind": "desk_phone", "room": room.pk})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    device = DeviceToken.objects.get(name="Tischtelefon 1.03")
    assert device.room == room
    token = html.split('id="issued-token" type="text" readonly value="')[1].split('"')[0]
    assert token.startswith("bsd_")
    assert "nur dieses eine Mal" in html
    # The token works, and is never shown again.
    assert client.get("/api/v1/devices/self",
                      HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    assert token not in client.get("/konto/verwaltung/geraete/").content.decode()


def test_page_shows_errors_at_the_fields(client, org, admin):
    login_verified(client, admin)
    response = client.post("/konto/verwaltung/geraete/",
                           {"name": "", "kind": "toaster", "room": "999999",
                            "username": "niemand"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Bitte eine Bezeichnung angeben." in html
    assert "Unbekannte Geräteart." in html
    assert "Diesen Raum gibt es nicht." in html
    assert "Diesen Benutzer gibt es nicht." in html
    assert 'aria-describedby="id_name_error"' in html
    assert DeviceToken.objects.count() == 0


def test_page_requires_room_or_person(client, org, admin):
    login_verified(client, admin)
    response = client.post("/konto/verwaltung/geraete/", {"name": "PC", "kind": "workstation"})
    assert response.status_code == 400
    assert "an einen Raum oder eine Person gebunden" in response.content.decode()
    assert DeviceToken.objects.count() == 0


def test_page_binds_device_to_a_person(client, org, admin, make_user):
    make_user("melder")
    login_verified(client, admin)
    response = client.post("/konto/verwaltung/geraete/",
                           {"name": "Diensthandy", "kind": "mobile", "username": "melder"})
    assert response.status_code == 201
    assert DeviceToken.objects.get(name="Diensthandy").user.username == "melder"


def test_page_revokes(client, org, admin):
    login_verified(client, admin)
    client.post("/konto/verwaltung/geraete/",
                {"name": "Hub", "kind": "button_hub", "room": org["rooms"][0].pk})
    device = DeviceToken.objects.get(name="Hub")
    mark = audit_mark()
    response = client.post(f"/konto/verwaltung/geraete/{device.pk}/widerrufen/")
    assert response["Location"] == "/konto/verwaltung/geraete/"
    device.refresh_from_db()
    assert device.revoked_at is not None
    assert actions_since(mark) == ["accounts.devicetoken.update"]
    assert "wurde widerrufen" in client.get("/konto/verwaltung/geraete/").content.decode()
    assert client.post("/konto/verwaltung/geraete/999999/widerrufen/").status_code == 404
    assert client.get(f"/konto/verwaltung/geraete/{device.pk}/widerrufen/").status_code == 405
