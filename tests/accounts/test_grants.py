"""Granting and revoking roles (page and API): validation, audit rows, immediate effect."""

import json
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from beistand.accounts import services
from beistand.accounts.models import RoleGrant
from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from tests.accounts.helpers import actions_since, audit_mark, login_verified

pytestmark = pytest.mark.django_db
PAGE = "/konto/verwaltung/rollen/"
User = get_user_model()


@pytest.fixture
def admin(make_user):
    return make_user("admin", roles=[Role.ADMIN])


@pytest.fixture
def admin_client(client, admin):
    login_verified(client, admin)
    return client


def fresh(user):
    return User.objects.get(pk=user.pk)


# --- page ---------------------------------------------------------------------------------------

def test_page_lists_active_grants(admin_client, make_user, tomorrow):
    make_user("abfrage", roles=[Role.QUERIER], expires_at=tomorrow)
    html = admin_client.get(PAGE).content.decode()
    assert "abfrage" in html
    assert "Abfrageberechtigte/r" in html
    assert "Test-Setup der Rolle" in html
    assert tomorrow.astimezone(timezone.get_current_timezone()).strftime("%d.%m.%Y") in html
    for label in ("Benutzer/in (Benutzername)", "Rolle", "Begründung / dienstlicher Bedarf",
                  "Gültig bis einschließlich"):
        assert f">{label}" in html
    assert 'for="revoke-reason-' in html


def test_page_grants_with_audit(admin_client, admin, make_user):
    target = make_user("melder")
    mark = audit_mark()
    until = date.today() + timedelta(days=30)
    response = admin_client.post(PAGE + "vergeben/", {
        "username": "melder", "role": Role.QUERIER, "reason": "Sachbearbeitung Fall 2024/17",
        "expires_on": until.isoformat()})
    assert response.status_code == 302, response.content.decode()
    grant = RoleGrant.objects.get(user=target, role=Role.QUERIER)
    assert grant.granted_by == admin
    local_expiry = grant.expires_at.astimezone(timezone.get_current_timezone())
    assert (local_expiry.date(), local_expiry.hour, local_expiry.minute) == (until, 23, 59)
    assert services.has_role(fresh(target), Role.QUERIER)

    event = AuditEvent.objects.get(seq__gt=mark, action="accounts.rolegrant.create")
    assert event.actor_label == "admin"
    assert event.after["role"] == "querier"
    assert event.after["reason"] == "Sachbearbeitung Fall 2024/17"
    assert actions_since(mark) == ["accounts.rolegrant.create"]
    assert "hat jetzt die Rolle" in admin_client.get(PAGE).content.decode()


@pytest.mark.parametrize("data,message", [
    ({"username": "melder", "role": "querier", "reason": "Sachbearbeitung Fall 1"},
     "Die Abfrageberechtigung muss befristet werden."),
    ({"username": "melder", "role": "zks", "reason": "kurz"},
     "Bitte den dienstlichen Bedarf begründen (mindestens 10 Zeichen)."),
    ({"username": "niemand", "role": "zks", "reason": "Vertretung ZKS im Urlaub"},
     "Diesen Benutzer gibt es nicht."),
    ({"username": "melder", "role": "reporter", "reason": "Vertretung ZKS im Urlaub"},
     "Diese Rolle kann nicht vergeben werden."),
    ({"username": "melder", "role": "zks", "reason": "Vertretung ZKS im Urlaub",
      "expires_on": "2001-01-01"}, "Das Ablaufdatum muss in der Zukunft liegen."),
    ({"username": "melder", "role": "zks", "reason": "Vertretung ZKS im Urlaub",
      "expires_on": "morgen"}, "Bitte ein Datum im Format TT.MM.JJJJ angeben."),
    ({"username": "", "role": "", "reason": ""}, "Bitte eine Rolle wählen."),
])
def test_page_rejects_bad_grants_and_changes_nothing(admin_client, make_user, data, message):
    make_user("melder")
    count = RoleGrant.objects.count()
    mark = audit_mark()
    response = admin_client.post(PAGE + "vergeben/", data)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html
    assert 'aria-invalid="true"' in html
    assert "Bitte prüfen Sie Ihre Angaben." in html
    assert RoleGrant.objects.count() == count
    assert actions_since(mark) == []


def test_page_refuses_duplicate_grant(admin_client, make_user):
    make_user("zks", roles=[Role.ZKS])
    response = admin_client.post(PAGE + "vergeben/", {
        "username": "zks", "role": "zks", "reason": "Vertretung ZKS im Urlaub"})
    assert response.status_code == 400
    assert "hat die Rolle bereits" in response.content.decode()


def test_page_revokes_with_reason_and_audit(admin_client, admin, make_user):
    target = make_user("zks", roles=[Role.ZKS])
    grant = RoleGrant.objects.get(user=target)
    mark = audit_mark()
    response = admin_client.post(f"{PAGE}{grant.pk}/entziehen/",
                                 {"reason": "Wechsel in ein anderes Amt"})
    assert response["Location"] == PAGE
    grant.refresh_from_db()
    assert grant.revoked_by == admin
    assert grant.revoke_reason == "Wechsel in ein anderes Amt"
    assert not services.has_role(fresh(target), Role.ZKS)
    event = AuditEvent.objects.get(seq__gt=mark, action="accounts.rolegrant.update")
    assert event.actor_label == "admin"
    assert event.after["revoke_reason"] == "Wechsel in ein anderes Amt"
    assert event.before["revoked_at"] is None
    html = admin_client.get(PAGE + "?alle=1").content.decode()
    assert "Wechsel in ein anderes Amt" in html


def test_page_revoke_needs_reason(admin_client, make_user):
    target = make_user("zks", roles=[Role.ZKS])
    grant = RoleGrant.objects.get(user=target)
    mark = audit_mark()
    response = admin_client.post(f"{PAGE}{grant.pk}/entziehen/", {"reason": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Bitte den Entzug begründen." in html
    assert f'aria-describedby="revoke-reason-{grant.pk}_error"' in html
    grant.refresh_from_db()
    assert grant.revoked_at is None
    assert actions_since(mark) == []


def test_page_revoke_twice_and_unknown(admin_client, make_user):
    target = make_user("zks", roles=[Role.ZKS])
    grant = RoleGrant.objects.get(user=target)
    admin_client.post(f"{PAGE}{grant.pk}/entziehen/", {"reason": "Wechsel in ein anderes Amt"})
    again = admin_client.post(f"{PAGE}{grant.pk}/entziehen/", {"reason": "noch einmal bitte"})
    assert again.status_code == 400
    assert admin_client.post(f"{PAGE}999999/entziehen/",
                             {"reason": "gibt es nicht"}).status_code == 404


def test_non_admin_gets_german_403_page(client, make_user):
    user = make_user("zks", roles=[Role.ZKS])
    login_verified(client, user)
    response = client.get(PAGE)
    assert response.status_code == 403
    assert "vorbehalten" in response.content.decode()
    # The DPO reads the page (and confirms pending grants) but grants nothing.
    login_verified(client, make_user("dsb", roles=[Role.DPO]))
    assert client.get(PAGE).status_code == 200
    post = client.post(PAGE + "vergeben/", {"username": "dsb", "role": "admin",
                                            "reason": "Ich will Admin werden"})
    assert post.status_code == 403
    assert not RoleGrant.objects.filter(role=Role.ADMIN).exists()


def test_anonymous_is_sent_to_login(client, org):
    response = client.get(PAGE)
    assert response["Location"].startswith("/konto/anmelden/?next=")


# --- API ----------------------------------------------------------------------------------------

def test_api_grant_and_revoke(client, admin, make_user, bearer, tomorrow):
    make_user("melder")
    headers = bearer(admin)
    mark = audit_mark()
    created = client.post("/api/v1/roles/grants", json.dumps({
        "username": "melder", "role": "querier", "reason": "Sachbearbeitung Fall 2024/17",
        "expires_at": tomorrow.isoformat()}), content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    grant_id = created.json()["id"]
    assert created.json()["granted_by"] == "admin"
    listed = client.get("/api/v1/roles/grants", **headers).json()
    assert grant_id in [g["id"] for g in listed]
    revoked = client.post(f"/api/v1/roles/grants/{grant_id}/revoke",
                          json.dumps({"reason": "Fall abgeschlossen"}),
                          content_type="application/json", **headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoke_reason"] == "Fall abgeschlossen"
    assert grant_id not in [g["id"] for g in client.get("/api/v1/roles/grants",
                                                        **headers).json()]
    assert grant_id in [g["id"] for g in client.get("/api/v1/roles/grants?active=false",
                                                    **headers).json()]
    events = AuditEvent.objects.filter(seq__gt=mark, object_type="accounts.rolegrant")
    assert [(e.action, e.actor_label) for e in events] == [
        ("accounts.rolegrant.create", "admin"), ("accounts.rolegrant.update", "admin")]


@pytest.mark.parametrize("body,field", [
    ({"username": "melder", "role": "querier", "reason": "Sachbearbeitung Fall 1"},
     "expires_at"),
    ({"username": "melder", "role": "chef", "reason": "Sachbearbeitung Fall 1"}, "role"),
    ({"username": "melder", "role": "supervisor", "reason": "Sachbearbeitung Fall 1"}, "role"),
    ({"username": "niemand", "role": "zks", "reason": "Sachbearbeitung Fall 1"}, "username"),
    ({"username": "melder", "role": "zks", "reason": "zu kurz"}, "reason"),
    ({"username": "melder", "role": "zks", "reason": "Sachbearbeitung Fall 1",
      "expires_at": "bald"}, "expires_at"),
    ({"username": "melder", "role": "zks", "reason": "Sachbearbeitung Fall 1",
      "until": "2030-01-01"}, "until"),
])
def test_api_bad_grant_400_names_field(client, admin, make_user, bearer, body, field):
    make_user("melder")
    headers = bearer(admin)
    count = RoleGrant.objects.count()
    mark = audit_mark()
    response = client.post("/api/v1/roles/grants", json.dumps(body),
                           content_type="application/json", **headers)
    assert response.status_code == 400, response.content
    assert any(e["field"] == field for e in response.json()["errors"])
    assert RoleGrant.objects.count() == count
    assert actions_since(mark) == []


def test_api_revoke_by_non_admin_403(client, make_user, bearer):
    target = make_user("zks", roles=[Role.ZKS])
    other = make_user("dsb", roles=[Role.DPO])
    grant = RoleGrant.objects.get(user=target)
    response = client.post(f"/api/v1/roles/grants/{grant.pk}/revoke",
                           json.dumps({"reason": "Ich darf das nicht"}),
                           content_type="application/json", **bearer(other))
    assert response.status_code == 403
    grant.refresh_from_db()
    assert grant.revoked_at is None


# --- immediate effect ---------------------------------------------------------------------------

def test_expired_grant_loses_role_and_permissions_at_once(make_user):
    user = make_user("admin2", roles=[Role.ADMIN])
    assert services.has_role(fresh(user), Role.ADMIN)
    assert fresh(user).has_perm("organisation.change_employee")
    grant = RoleGrant.objects.get(user=user)
    with transaction.atomic():
        grant.expires_at = timezone.now() - timedelta(seconds=1)
        grant.save()
    assert not services.has_role(fresh(user), Role.ADMIN)
    assert not fresh(user).has_perm("organisation.change_employee")
    assert services.requires_second_factor(fresh(user)) is False


def test_revoked_grant_loses_role_and_permissions_at_once(make_user, admin):
    user = make_user("dsb", roles=[Role.DPO])
    assert fresh(user).has_perm("audit.view_auditevent")
    grant = RoleGrant.objects.get(user=user)
    services.revoke_role(admin, grant.pk, "Aufgabe beendet")
    assert not services.has_role(fresh(user), Role.DPO)
    assert not fresh(user).has_perm("audit.view_auditevent")


def test_expired_grant_closes_pages_and_api_for_a_running_session(client, make_user, bearer):
    user = make_user("admin2", roles=[Role.ADMIN])
    headers = bearer(user)
    login_verified(client, user)
    assert client.get(PAGE).status_code == 200
    grant = RoleGrant.objects.get(user=user)
    with transaction.atomic():
        grant.expires_at = timezone.now() - timedelta(seconds=1)
        grant.save()
    assert client.get(PAGE).status_code == 403
    api = type(client)()
    assert api.get("/api/v1/roles/grants", **headers).status_code == 403


def test_security_page_shows_own_roles_with_expiry(client, make_user, tomorrow, org):
    user = make_user("abfrage", roles=[Role.QUERIER], expires_at=tomorrow, head_of=org["abt"])
    login_verified(client, user)
    html = client.get("/konto/sicherheit/").content.decode()
    assert "Abfrageberechtigte/r" in html
    assert "Vorgesetzte/r" in html
    assert "ergibt sich aus der Organisation" in html
    assert tomorrow.astimezone(timezone.get_current_timezone()).strftime("%d.%m.%Y") in html
    assert "eingerichtet" in html


# --- command line -------------------------------------------------------------------------------

def test_command_grants_first_admin_audited(make_user):
    from django.core.management import call_command

    user = make_user("erste", employee=False)
    mark = audit_mark()
    call_command("grant_role", "erste", "admin", reason="Erstinstallation durch IT")
    assert services.has_role(fresh(user), Role.ADMIN)
    event = AuditEvent.objects.get(seq__gt=mark, action="accounts.rolegrant.create")
    assert event.actor_label == "system"
    assert RoleGrant.objects.get(user=user).granted_by is None


@pytest.mark.parametrize("args,message", [
    (["niemand", "admin", "--reason", "Erstinstallation durch IT"], "gibt es nicht"),
    # Before any administrator exists, only the first administrator is granted (bootstrap).
    (["erste", "querier", "--reason", "Erstinstallation durch IT"],
     "keine aktive Administration"),
    (["erste", "admin", "--reason", "kurz"], "mindestens 10 Zeichen"),
    (["erste", "querier", "--reason", "Erstinstallation durch IT", "--until", "morgen"],
     "JJJJ-MM-TT"),
])
def test_command_rejects_bad_input(make_user, args, message):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    make_user("erste", employee=False)
    with pytest.raises(CommandError, match=message):
        call_command("grant_role", *args)
    assert not RoleGrant.objects.filter(user__username="erste").exists()
