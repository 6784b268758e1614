"""The master-data admin: only the admin role gets in; opening an employee is an audited read."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.organisation.models import Employee, OrgUnit

pytestmark = pytest.mark.django_db

ADMIN = "/django-admin/"


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    # The second factor is the accounts app's business (tested there); here: roles only.
    settings.DEMO_MODE = True


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("verwalter", roles=[Role.ADMIN]))
    return client


@pytest.mark.parametrize("roles", [[], [Role.PERSONNEL], [Role.ZKS], [Role.DPO],
                                   [Role.SECURITY], [Role.QUERIER], [Role.STATISTICS]])
def test_admin_site_refuses_every_other_role(client, make_user, roles):
    client.force_login(make_user("jemand", roles=roles))
    for url in (ADMIN, f"{ADMIN}organisation/employee/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_anonymous_and_expired_admin_grant_are_refused(client, make_user):
    assert client.get(ADMIN).status_code == 302
    user = make_user("ehemals", roles=[Role.ADMIN],
                     expires_at=timezone.now() + timedelta(days=1))
    grant = user.role_grants.get()
    grant.expires_at = timezone.now() - timedelta(days=1)
    with transaction.atomic():
        grant.save()
    client.force_login(user)
    assert client.get(ADMIN).status_code == 302


def test_admin_sees_every_master_data_page(admin_client, org):
    index = admin_client.get(ADMIN)
    assert index.status_code == 200
    for model in ("body", "orgunit", "site", "building", "floor", "room", "employee"):
        assert admin_client.get(f"{ADMIN}organisation/{model}/").status_code == 200, model
        add = admin_client.get(f"{ADMIN}organisation/{model}/add/")
        # One installation, one body: no second one can be added.
        assert add.status_code == (403 if model == "body" else 200), model
    for url in (f"{ADMIN}organisation/site/{org['site'].pk}/change/",
                f"{ADMIN}organisation/building/{org['building'].pk}/change/",
                f"{ADMIN}organisation/floor/{org['floor'].pk}/change/",
                f"{ADMIN}organisation/orgunit/{org['abt'].pk}/change/"):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    floor_page = admin_client.get(f"{ADMIN}organisation/floor/{org['floor'].pk}/change/")
    assert "1.05" in floor_page.content.decode()  # rooms inline


def test_employee_search_filters_and_autocomplete(admin_client, org, make_user):
    make_user("suchbar", unit=org["abt"])
    page = admin_client.get(f"{ADMIN}organisation/employee/", {"q": "Suchbar"})
    assert page.status_code == 200 and "Suchbar" in page.content.decode()
    page = admin_client.get(f"{ADMIN}organisation/employee/", {"field_service__exact": "1"})
    assert "Suchbar" not in page.content.decode()
    page = admin_client.get(f"{ADMIN}organisation/employee/", {"unit__id__exact": org["abt"].pk})
    assert "Suchbar" in page.content.decode()
    auto = admin_client.get(f"{ADMIN}autocomplete/", {
        "app_label": "organisation", "model_name": "orgunit", "field_name": "head",
        "term": "such"})
    assert auto.status_code == 200
    assert [r["text"] for r in auto.json()["results"]] == ["Suchbar, Test"]


def test_opening_an_employee_is_an_audited_read(admin_client, org, make_user):
    user = make_user("gelesen", unit=org["abt"])
    employee = Employee.objects.get(user=user)
    before = AuditEvent.objects.count()
    response = admin_client.get(f"{ADMIN}organisation/employee/{employee.pk}/change/")
    assert response.status_code == 200
    event = AuditEvent.objects.get(seq__gt=before, action="organisation.employee.read")
    assert event.actor_label == "verwalter"
    assert event.object_id == str(employee.pk)
    assert "contact" in event.after["fields"]
    # An unknown id reads nothing.
    admin_client.get(f"{ADMIN}organisation/employee/999999/change/")
    assert AuditEvent.objects.filter(action="organisation.employee.read").count() == 1


def test_searching_the_staff_list_is_recorded(admin_client, org):
    admin_client.get(f"{ADMIN}organisation/employee/", {"q": "Meier"})
    event = AuditEvent.objects.get(action="organisation.employee.list")
    assert event.after == {"query": {"q": ["Meier"]}}
    assert event.actor_label == "verwalter"


def test_admin_edit_is_audited_with_before_and_after(admin_client, org):
    unit = OrgUnit.objects.get(code="32/1")
    response = admin_client.post(f"{ADMIN}organisation/orgunit/{unit.pk}/change/", {
        "code": "32/1", "name": "Außendienst Nord", "kind": "abteilung",
        "parent": org["amt32"].pk, "head": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.filter(action="organisation.orgunit.update").last()
    assert event.before == {"name": "Außendienst"}
    assert event.after == {"name": "Außendienst Nord"}
    assert event.actor_label == "verwalter"


def test_unit_cannot_be_moved_under_itself_in_the_admin(admin_client, org):
    unit = org["amt32"]
    response = admin_client.post(f"{ADMIN}organisation/orgunit/{unit.pk}/change/", {
        "code": "32", "name": "Ordnungsamt", "kind": "amt", "parent": org["abt"].pk,
        "head": ""})
    assert response.status_code == 200
    assert "nicht unter sich selbst" in response.content.decode()
    unit.refresh_from_db()
    assert unit.parent == org["dez"]
