"""Organisation API: unit tree without personal data; one employee's contact data, audited."""

import pytest

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_units_are_listed_for_any_employee(client, make_user, bearer, org):
    user = make_user("mitarbeiterin")
    response = client.get("/api/v1/organisation/units", **bearer(user))
    assert response.status_code == 200
    codes = {u["code"] for u in response.json()}
    assert {"I", "11", "I/3", "32", "32/1"} <= codes


def test_own_contact_data_is_readable_and_the_read_audited(client, make_user, bearer):
    user = make_user("selbst")
    headers = bearer(user)
    emp_id = user.employee.pk
    response = client.get(f"/api/v1/organisation/employees/{emp_id}?purpose=Kontrolle",
                          **headers)
    assert response.status_code == 200
    assert response.json()["last_name"] == "Selbst"
    read = AuditEvent.objects.get(action="organisation.employee.read")
    assert read.actor_id == user.pk
    assert read.object_id == str(emp_id)
    assert read.purpose == "Kontrolle"


@pytest.mark.parametrize("role,allowed", [
    (None, False), (Role.ZKS, False), (Role.QUERIER, False), (Role.STATISTICS, False),
    (Role.SECURITY, False), (Role.DPO, False), (Role.PERSONNEL, True), (Role.ADMIN, True),
])
def test_others_contact_data_only_for_admin_and_personnel(client, make_user, bearer, role,
                                                          allowed):
    other = make_user("andere")
    caller = make_user("fragende", roles=[role] if role else [])
    response = client.get(f"/api/v1/organisation/employees/{other.employee.pk}",
                          **bearer(caller))
    assert response.status_code == (200 if allowed else 403)
    reads = AuditEvent.objects.filter(action="organisation.employee.read").count()
    assert reads == (1 if allowed else 0)
    if not allowed:
        assert response["Content-Type"] == "application/problem+json"


def test_unknown_employee_is_404_without_audit(client, make_user, bearer):
    admin = make_user("verwaltung", roles=[Role.ADMIN])
    response = client.get("/api/v1/organisation/employees/999999", **bearer(admin))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="organisation.employee.read").exists()
