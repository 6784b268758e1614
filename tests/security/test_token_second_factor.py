"""Issue 16, finding 1: API and device tokens are bound to the second factor the user's current
roles require. A token issued without it (reporter-only, demo mode) carries nothing once a
privileged role is held; granting a privileged role or resetting the second factor revokes the
user's older tokens (API tokens and the device tokens bound to them)."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from beistand.accounts import services
from beistand.accounts.models import ApiToken, DeviceToken
from beistand.accounts.roles import Role
from tests.accounts.helpers import actions_since, audit_mark, code_for, fresh_code, totp_device
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
LOOKUPS = "/api/v1/register/lookups"
QUERY = {"purpose": "Prüfung vor Hausbesuch, Az. 32/1-2026-17", "last_name": "Mueller",
         "first_name": "Peter", "date_of_birth": "1980-05-03"}


def token_for(client, username, otp=None) -> str:
    body = {"username": username, "password": PASSWORD}
    if otp:
        body["otp"] = otp
    response = client.post("/api/v1/auth/token", json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def lookup(client, token):
    return client.post(LOOKUPS, json.dumps(QUERY), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {token}")


def me(client, token):
    return client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_reproduction_old_token_after_cli_grant_is_refused(client, make_user):
    """The attack as recorded: token for kollege5, `beistand grant-role kollege5 querier`, look-up
    with the old token. It was 200 without any authenticator."""
    make_user("kollege5")
    admin = make_user("admin", roles=[Role.ADMIN])
    totp = totp_device(admin)
    token = token_for(client, "kollege5")
    assert me(client, token).status_code == 200
    mark = audit_mark()
    until = (timezone.localdate() + timedelta(days=30)).isoformat()
    call_command("grant_role", "kollege5", "querier", "--as", "admin",
                 reason="Sachbearbeitung Fall 2026/17", until=until,
                 stdin=io.StringIO(f"{PASSWORD}\n{code_for(totp)}\n"), stdout=io.StringIO())
    assert lookup(client, token).status_code == 401
    assert me(client, token).status_code == 401
    assert ApiToken.objects.get(prefix=token[:12]).revoked_at is not None
    assert "auth.tokens_revoked" in actions_since(mark)


def test_token_without_second_factor_never_reaches_a_privileged_role(client, make_user,
                                                                    settings):
    """A token issued in demo mode (no second factor asked) is refused outside demo mode for a
    user whose roles need one, even though it was never revoked."""
    make_user("abfrage", roles=[Role.QUERIER], expires_at=timezone.now() + timedelta(days=3))
    settings.DEMO_MODE = True
    token = token_for(client, "abfrage")
    settings.DEMO_MODE = False
    assert ApiToken.objects.get(prefix=token[:12]).revoked_at is None
    assert lookup(client, token).status_code == 401


def test_token_with_second_factor_works_and_dies_with_a_reset(client, make_user):
    user = make_user("abfrage", roles=[Role.QUERIER], expires_at=timezone.now() + timedelta(days=3))
    device = totp_device(user)
    token = token_for(client, "abfrage", otp=code_for(device))
    assert lookup(client, token).status_code == 200
    admin = make_user("admin", roles=[Role.ADMIN])
    second = make_user("admin2", roles=[Role.ADMIN])  # a querier's phone: four eyes
    proof = io.StringIO(f"{PASSWORD}\n{fresh_code(totp_device(admin))}\n"
                        f"{PASSWORD}\n{fresh_code(totp_device(second))}\n")
    call_command("reset_second_factor", "abfrage", "--as", "admin", "--with", "admin2",
                 stdin=proof)
    assert lookup(client, token).status_code == 401


def test_granting_a_privileged_role_revokes_api_and_device_tokens(client, make_user, org):
    admin = make_user("admin", roles=[Role.ADMIN])
    target = make_user("kollegin")
    token = token_for(client, "kollegin")
    _, device = services.create_device_token(admin, "Diensthandy", "mobile", user=target)
    _, room_device = services.create_device_token(admin, "Taster 1.01", "button_hub",
                                                  room=org["rooms"][0])
    services.grant_role(admin, target, Role.ZKS, "Vertretung ZKS im Urlaub")
    assert me(client, token).status_code == 401
    assert DeviceToken.objects.get(pk=device.pk).revoked_at is not None
    assert DeviceToken.objects.get(pk=room_device.pk).revoked_at is None


def test_granting_a_plain_role_keeps_tokens(client, make_user):
    admin = make_user("admin", roles=[Role.ADMIN])
    target = make_user("kollegin")
    token = token_for(client, "kollegin")
    services.grant_role(admin, target, Role.STATISTICS, "Auswertung Jahresbericht 2026")
    assert me(client, token).status_code == 200
