"""``POST /api/v1/auth/token`` and the life of a person's API token: every bad input gives a
clear problem response and changes nothing."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.accounts.models import ApiToken
from beistand.accounts.roles import Role
from tests.accounts.helpers import actions_since, audit_mark, code_for, totp_device, wrong_code
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/token"


def post(client, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data, content_type="application/json", **extra)


def assert_problem(response, status, field=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    if field is not None:
        assert field in body["detail"] or any(e["field"] == field
                                              for e in body.get("errors", []))
    return body


def watch():
    """Call before the bad request; the returned check asserts that it changed nothing:
    no token row, no audit row except (where allowed) login-failure events."""
    mark, tokens = audit_mark(), ApiToken.objects.count()

    def check(allowed=()):
        assert ApiToken.objects.count() == tokens
        assert [a for a in actions_since(mark) if a not in allowed] == []

    return check


# --- issuing ------------------------------------------------------------------------------------

def test_reporter_gets_a_token(client, make_user):
    make_user("melder")
    mark = audit_mark()
    response = post(client, {"username": "melder", "password": PASSWORD, "name": "Laptop"})
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith("bst_")
    assert body["expires_at"]
    token = ApiToken.objects.get(pk=body["id"])
    assert token.name == "Laptop"
    assert token.token_hash != body["token"]  # only the hash is stored
    assert body["token"] not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert not token.otp_verified
    actions = actions_since(mark)
    assert "accounts.apitoken.create" in actions
    assert "auth.login" in actions

    me = client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200
    assert me.json()["username"] == "melder"
    assert me.json()["roles"] == ["reporter"]


def test_token_creation_is_attributed_to_the_user(client, make_user):
    from beistand.audit.models import AuditEvent

    make_user("melder")
    response = post(client, {"username": "melder", "password": PASSWORD})
    event = AuditEvent.objects.get(action="accounts.apitoken.create",
                                   object_id=str(response.json()["id"]))
    assert event.actor_label == "melder"


def test_wrong_password_401(client, make_user):
    make_user("melder")
    nothing_changes = watch()
    response = post(client, {"username": "melder", "password": "falsch"})
    body = assert_problem(response, 401)
    assert body["detail"] == "Benutzername oder Passwort ist falsch."
    nothing_changes(allowed=("auth.login_failed",))


def test_unknown_user_401_same_text(client, org):
    nothing_changes = watch()
    response = post(client, {"username": "niemand", "password": "falsch"})
    assert assert_problem(response, 401)["detail"] == "Benutzername oder Passwort ist falsch."
    nothing_changes(allowed=("auth.login_failed",))


def test_privileged_without_otp_401_names_field(client, make_user):
    user = make_user("zks", roles=[Role.ZKS])
    totp_device(user)
    nothing_changes = watch()
    response = post(client, {"username": "zks", "password": PASSWORD})
    body = assert_problem(response, 401, field="otp")
    assert body["errors"][0]["field"] == "otp"
    nothing_changes()


def test_privileged_with_wrong_otp_401(client, make_user):
    user = make_user("zks", roles=[Role.ZKS])
    device = totp_device(user)
    nothing_changes = watch()
    response = post(client, {"username": "zks", "password": PASSWORD,
                             "otp": wrong_code(device)})
    body = assert_problem(response, 401, field="otp")
    assert "falsch oder abgelaufen" in body["detail"]
    nothing_changes(allowed=("auth.login_failed",))


def test_privileged_with_right_otp_201(client, make_user):
    user = make_user("zks", roles=[Role.ZKS])
    device = totp_device(user)
    response = post(client, {"username": "zks", "password": PASSWORD, "otp": code_for(device)})
    assert response.status_code == 201
    assert ApiToken.objects.get(pk=response.json()["id"]).otp_verified


def test_privileged_without_device_403_with_hint(client, make_user):
    make_user("dsb", roles=[Role.DPO])
    nothing_changes = watch()
    response = post(client, {"username": "dsb", "password": PASSWORD, "otp": "123456"})
    body = assert_problem(response, 403)
    assert "Zwei-Faktor-Anmeldung" in body["detail"]
    assert "im Browser" in body["detail"]
    nothing_changes()


def test_demo_mode_needs_no_otp(client, make_user, settings):
    settings.DEMO_MODE = True
    make_user("admin", roles=[Role.ADMIN])
    assert post(client, {"username": "admin", "password": PASSWORD}).status_code == 201


def test_lockout_429_after_failure_limit(client, make_user, settings):
    make_user("melder")
    limit = settings.AXES_FAILURE_LIMIT
    nothing_changes = watch()
    for _ in range(limit - 1):
        assert post(client, {"username": "melder", "password": "falsch"}).status_code == 401
    locked = post(client, {"username": "melder", "password": "falsch"})
    body = assert_problem(locked, 429)
    assert "Zu viele Fehlversuche" in body["detail"]
    # The right password is refused as well while locked.
    assert_problem(post(client, {"username": "melder", "password": PASSWORD}), 429)
    nothing_changes(allowed=("auth.login_failed",))


def test_wrong_otps_count_towards_lockout(client, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    user = make_user("zks", roles=[Role.ZKS])
    device = totp_device(user)
    body = {"username": "zks", "password": PASSWORD, "otp": wrong_code(device)}
    assert post(client, body).status_code == 401
    assert_problem(post(client, body), 429)
    assert_problem(post(client, {**body, "otp": code_for(device)}), 429)


def test_malformed_json_400(client, org):
    nothing_changes = watch()
    body = assert_problem(post(client, '{"username": "melder", "password": '), 400)
    assert "JSON" in body["detail"]
    nothing_changes()


def test_unknown_field_400_names_it(client, make_user):
    make_user("melder")
    nothing_changes = watch()
    response = post(client, {"username": "melder", "password": PASSWORD, "is_admin": True})
    body = assert_problem(response, 400, field="is_admin")
    assert body["errors"][0] == {"field": "is_admin", "detail": "Unbekanntes Feld."}
    nothing_changes()


@pytest.mark.parametrize("body,field", [
    ({"password": PASSWORD}, "username"),
    ({"username": "melder"}, "password"),
    ({"username": "melder", "password": 42}, "password"),
    ({"username": "", "password": PASSWORD}, "username"),
])
def test_missing_or_wrong_typed_fields_400(client, make_user, body, field):
    make_user("melder")
    nothing_changes = watch()
    assert_problem(post(client, body), 400, field=field)
    nothing_changes()


def test_oversized_body_413(client, org, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    big = json.dumps({"username": "melder", "password": "x" * 2000})
    nothing_changes = watch()
    body = assert_problem(post(client, big), 413)
    assert "Größe" in body["detail"]
    nothing_changes()


def test_get_is_not_allowed(client, org):
    assert client.get(URL).status_code == 405


# --- using, listing, revoking -------------------------------------------------------------------

def _token(client, username):
    response = post(client, {"username": username, "password": PASSWORD})
    assert response.status_code == 201
    data = response.json()
    return data["id"], {"HTTP_AUTHORIZATION": f"Bearer {data['token']}"}


def test_missing_and_garbage_token_401(client, org):
    assert_problem(client.get("/api/v1/auth/me"), 401)
    assert_problem(client.get("/api/v1/auth/me", HTTP_AUTHORIZATION="Bearer bst_nonsense"), 401)
    assert_problem(client.get("/api/v1/auth/me", HTTP_AUTHORIZATION="Basic abc"), 401)


def test_expired_token_401(client, make_user):
    make_user("melder")
    token_id, headers = _token(client, "melder")
    with transaction.atomic():
        token = ApiToken.objects.get(pk=token_id)
        token.expires_at = timezone.now() - timedelta(seconds=1)
        token.save()
    body = assert_problem(client.get("/api/v1/auth/me", **headers), 401)
    assert "abgelaufen" in body["detail"]
    assert client.get("/api/v1/auth/me", **headers)["WWW-Authenticate"] == "Bearer"


def test_revoked_token_401(client, make_user):
    make_user("melder")
    token_id, headers = _token(client, "melder")
    assert client.delete(f"/api/v1/auth/tokens/{token_id}", **headers).status_code == 204
    assert_problem(client.get("/api/v1/auth/me", **headers), 401)
    assert ApiToken.objects.get(pk=token_id).revoked_at is not None


def test_token_of_deactivated_user_401(client, make_user):
    user = make_user("melder")
    _, headers = _token(client, "melder")
    user.is_active = False
    user.save()
    assert_problem(client.get("/api/v1/auth/me", **headers), 401)


def test_listing_shows_own_tokens_without_secret(client, make_user):
    make_user("melder")
    make_user("kollege")
    first, headers = _token(client, "melder")
    second, _ = _token(client, "melder")
    _token(client, "kollege")
    response = client.get("/api/v1/auth/tokens", **headers)
    assert response.status_code == 200
    rows = response.json()
    assert sorted(r["id"] for r in rows) == sorted([first, second])
    assert all("token" not in r and "token_hash" not in r for r in rows)
    assert all(r["prefix"].startswith("bst_") for r in rows)


def test_revoking_someone_elses_token_404_and_changes_nothing(client, make_user):
    make_user("melder")
    make_user("kollege")
    _, headers = _token(client, "melder")
    other_id, other_headers = _token(client, "kollege")
    mark = audit_mark()
    assert_problem(client.delete(f"/api/v1/auth/tokens/{other_id}", **headers), 404)
    assert ApiToken.objects.get(pk=other_id).revoked_at is None
    assert actions_since(mark) == []
    assert client.get("/api/v1/auth/me", **other_headers).status_code == 200


def test_admin_may_revoke_any_token(client, make_user, bearer):
    admin = make_user("admin", roles=[Role.ADMIN])
    make_user("melder")
    other_id, other_headers = _token(client, "melder")
    mark = audit_mark()
    assert client.delete(f"/api/v1/auth/tokens/{other_id}", **bearer(admin)).status_code == 204
    assert client.get("/api/v1/auth/me", **other_headers).status_code == 401
    from beistand.audit.models import AuditEvent

    event = AuditEvent.objects.get(seq__gt=mark, action="accounts.apitoken.update")
    assert event.actor_label == "admin"
    assert event.after and "revoked_at" in event.after


def test_revoking_unknown_token_404(client, make_user):
    make_user("melder")
    _, headers = _token(client, "melder")
    assert_problem(client.delete("/api/v1/auth/tokens/999999", **headers), 404)


def test_self_service_page_lists_and_revokes_own_tokens(client, make_user):
    user = make_user("melder")
    make_user("kollege")
    token_id, headers = _token(client, "melder")
    other_id, _ = _token(client, "kollege")
    client.force_login(user)
    page = client.get("/konto/sicherheit/").content.decode()
    prefix = ApiToken.objects.get(pk=token_id).prefix
    assert prefix in page
    assert ApiToken.objects.get(pk=other_id).prefix not in page
    response = client.post(f"/konto/sicherheit/tokens/{token_id}/widerrufen/")
    assert response["Location"] == "/konto/sicherheit/"
    assert "wurde widerrufen" in client.get("/konto/sicherheit/").content.decode()
    api_client = type(client)()  # without the browser session
    assert api_client.get("/api/v1/auth/me", **headers).status_code == 401
    # Someone else's token: not found, nothing revoked.
    assert client.post(f"/konto/sicherheit/tokens/{other_id}/widerrufen/").status_code == 404
    assert ApiToken.objects.get(pk=other_id).revoked_at is None
