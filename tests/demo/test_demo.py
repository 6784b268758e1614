"""The demo body Stadt Musterstadt: idempotent loading, accounts and roles, login, audit chain."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from beistand.accounts.models import RoleGrant
from beistand.accounts.roles import Role
from beistand.accounts.services import roles_of
from beistand.audit.models import AuditEvent
from beistand.demo import data
from beistand.demo.services import DemoRefused, load_demo
from beistand.organisation.models import Employee, OrgUnit, Room, Site
from beistand.organisation.services import direct_reports, direct_supervisor, room_distance_m

pytestmark = pytest.mark.django_db

EXPECTED_ROLES = {
    "melder": {Role.REPORTER},
    "vorgesetzte": {Role.REPORTER, Role.SUPERVISOR},
    "personal": {Role.REPORTER, Role.PERSONNEL},
    "zks": {Role.REPORTER, Role.ZKS},
    "abfrage": {Role.REPORTER, Role.QUERIER},
    "statistik": {Role.REPORTER, Role.STATISTICS},
    "dsb": {Role.REPORTER, Role.DPO},
    "sicherheit": {Role.REPORTER, Role.SECURITY},
    "admin": {Role.REPORTER, Role.ADMIN},
    **{f"kollege{i}": {Role.REPORTER} for i in range(1, 6)},
}


def _counts():
    return {model.__name__: model.objects.count()
            for model in (OrgUnit, Site, Room, Employee, get_user_model(), RoleGrant,
                          AuditEvent)}


def test_load_demo_twice_changes_nothing():
    first = load_demo()
    assert first.created > 300 and first.changed
    assert first.totals == {"units": 29, "sites": 3, "rooms": 168, "employees": 62,
                            "accounts": 14}
    after_first = _counts()
    second = load_demo()
    assert (second.created, second.updated) == (0, 0)
    assert second.unchanged == first.created + first.unchanged
    assert _counts() == after_first  # no duplicates and no new audit rows


def test_every_unit_has_a_head_and_staff_have_contact_data():
    load_demo()
    assert not OrgUnit.objects.filter(head__isnull=True).exists()
    assert OrgUnit.objects.filter(parent__isnull=True).count() == 6  # Dezernate I-VI
    for code in ("11", "I/3", "32", "32/3", "33", "50", "51", "20/3", "37"):
        assert OrgUnit.objects.filter(code=code).exists(), code
    for emp in Employee.objects.all():
        assert emp.email.endswith("@musterstadt.example")
        assert emp.service_phone.startswith("+49 1234 555-")
    assert Employee.objects.filter(field_service=True).count() >= 15
    for site in Site.objects.all():
        assert 51 < float(site.latitude) < 52 and 7 < float(site.longitude) < 8


def test_demo_accounts_have_the_right_roles():
    load_demo()
    User = get_user_model()
    for username, expected in EXPECTED_ROLES.items():
        user = User.objects.get(username=username)
        assert set(roles_of(user)) == expected, username
        assert user.employee is not None
    querier = RoleGrant.objects.get(user__username="abfrage", role=Role.QUERIER)
    assert "Hausbesuche" in querier.reason
    assert timedelta(days=360) < querier.expires_at - timezone.now() < timedelta(days=366)
    assert all(len(g.reason) >= 10 for g in RoleGrant.objects.all())


def test_vorgesetzte_is_the_derived_supervisor_of_melder():
    load_demo()
    melder = Employee.objects.get(user__username="melder")
    boss = Employee.objects.get(user__username="vorgesetzte")
    assert melder.supervisor is None  # derived from the unit tree, not set explicitly
    assert direct_supervisor(melder) == boss
    assert melder in direct_reports(boss)
    assert melder.field_service


def test_colleagues_sit_next_to_melder():
    load_demo()
    melder = Employee.objects.get(user__username="melder")
    for i in range(1, 6):
        colleague = Employee.objects.get(user__username=f"kollege{i}")
        assert colleague.room.floor == melder.room.floor
        assert room_distance_m(melder.room, colleague.room) <= 10.0


def test_demo_accounts_log_in_with_password_demo(client, settings):
    settings.DEMO_MODE = True
    load_demo()
    for username, expected in EXPECTED_ROLES.items():
        response = client.post("/api/v1/auth/token",
                               json.dumps({"username": username, "password": "demo"}),
                               content_type="application/json")
        assert response.status_code == 201, (username, response.content)
        token = response.json()["token"]
        me = client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert set(me.json()["roles"]) == {str(r) for r in expected}


def test_wrong_password_is_refused(client, settings):
    settings.DEMO_MODE = True
    load_demo()
    response = client.post("/api/v1/auth/token",
                           json.dumps({"username": "melder", "password": "falsch"}),
                           content_type="application/json")
    assert response.status_code == 401


def test_audit_chain_verifies_after_load(capsys):
    load_demo()
    load_demo()
    call_command("audit", "verify")
    assert "Audit-Kette gültig" in capsys.readouterr().out
    labels = set(AuditEvent.objects.values_list("actor_label", flat=True))
    assert labels == {"demo"}


def test_demo_refuses_a_database_with_a_real_body(org):
    before = AuditEvent.objects.count()
    with pytest.raises(DemoRefused, match="Stadt Teststadt"):
        load_demo()
    assert AuditEvent.objects.count() == before
    assert not Employee.objects.filter(personnel_number="100071").exists()


def test_demo_command_without_serving(settings, capsys):
    settings.DEMO_MODE = True
    call_command("demo", "--no-serve")
    out = capsys.readouterr().out
    assert "Stadt Musterstadt geladen: 29 Einheiten, 3 Standorte, 168 Räume, 62 Beschäftigte" in out
    for username, *_ in data.ACCOUNTS:
        assert username in out


def test_demo_command_needs_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="Demo-Modus ist aus"):
        call_command("demo", "--no-serve")
    assert not Employee.objects.exists()
