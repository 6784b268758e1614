"""The administrator maintains the catalogues in the admin site; the API serves the result."""

import pytest

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.reports.models import HelpOffer, Offence

pytestmark = pytest.mark.django_db

ADMIN = "/django-admin/reports/"


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    settings.DEMO_MODE = True  # second factor is the accounts app's business


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user("verwalter", roles=[Role.ADMIN]))
    return client


def test_admin_adds_and_changes_an_offence(admin_client, bearer, make_user):
    assert admin_client.get(f"{ADMIN}offence/").status_code == 200
    response = admin_client.post(f"{ADMIN}offence/add/", {
        "code": "stalking", "label": "Nachstellung", "level": "2", "attack": "on",
        "active": "on", "sort": "20"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Offence.objects.get(code="stalking").level == 2
    change = admin_client.post(f"{ADMIN}offence/insult/change/", {
        "label": "Beleidigung (§ 185 StGB)", "level": "1", "attack": "on", "sort": "1"})
    assert change.status_code == 302
    insult = Offence.objects.get(code="insult")
    assert insult.label == "Beleidigung (§ 185 StGB)" and insult.active is False
    assert AuditEvent.objects.filter(action="reports.offence.create",
                                     object_id="stalking").exists()
    assert AuditEvent.objects.filter(action="reports.offence.update",
                                     object_id="insult").exists()
    rows = admin_client.get("/api/v1/catalogue/offences",
                            **bearer(make_user("leserin"))).json()
    codes = {r["code"] for r in rows}
    assert "stalking" in codes and "insult" not in codes  # retired, not deleted


def test_catalogue_entries_are_retired_not_deleted(admin_client):
    page = admin_client.get(f"{ADMIN}offence/threat/change/").content.decode()
    assert "/delete/" not in page
    assert admin_client.get(f"{ADMIN}offence/threat/delete/").status_code == 403
    assert admin_client.post(f"{ADMIN}offence/threat/change/", {
        "code": "drohung", "label": "Bedrohung", "level": "2", "attack": "on",
        "active": "on", "sort": "6"}).status_code == 302
    assert Offence.objects.filter(code="threat").exists()  # the code is fixed
    assert not Offence.objects.filter(code="drohung").exists()


def test_admin_edits_help_offers(admin_client):
    assert admin_client.get(f"{ADMIN}helpoffer/").status_code == 200
    response = admin_client.post(f"{ADMIN}helpoffer/psychosocial/change/", {
        "label": "Psychosoziale Beratung", "description": "Sozialberatung", "unit_code": "I/2",
        "active": "on", "sort": "4"})
    assert response.status_code == 302
    assert HelpOffer.objects.get(code="psychosocial").label == "Psychosoziale Beratung"


@pytest.mark.parametrize("roles", [[], [Role.ZKS], [Role.PERSONNEL], [Role.DPO]])
def test_other_roles_cannot_edit_the_catalogue(client, make_user, roles):
    client.force_login(make_user("jemand", roles=roles))
    assert client.get(f"{ADMIN}offence/").status_code == 302
    client.post(f"{ADMIN}offence/add/", {"code": "x", "label": "x", "level": "0", "sort": "0"})
    assert not Offence.objects.filter(code="x").exists()
