"""Attack review of issue 16, item 2: an administrator took over the DPO's account - by setting
the DPO employee's e-mail to the administrator's own identity at the identity provider (the
OIDC login then mapped to the DPO's account), or by re-linking ``Employee.user`` in the admin
site (the administrator's own employee record pointing at the DPO's account).

Now (1) the identity-linking fields (e-mail, account link) of a holder of a privileged role are
read-only in the admin site and refused on every other path (import, shell), and no such
account is linked to another record; (2) single sign-on never re-binds: an existing account is
matched through the employee's e-mail only if the account's own e-mail is that address, else the
login is refused and audited."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.test import RequestFactory
from django.utils import timezone

from beistand.accounts.oidc import EmployeeOIDCBackend
from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.core.errors import AccessDenied
from beistand.organisation.models import Employee
from tests.accounts.helpers import audit_mark, login_verified

pytestmark = pytest.mark.django_db
User = get_user_model()
ADMIN = "/django-admin/organisation/employee/"
ATTACKER_IDP_MAIL = "it.admin@teststadt.example"


@pytest.fixture
def oidc(settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "beistand"
    settings.OIDC_RP_CLIENT_SECRET = "geheim"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.invalid/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://idp.invalid/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.invalid/jwks"
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_TRUST_MFA = True  # the worst case: the IdP's second factor counts
    backend = EmployeeOIDCBackend()
    request = RequestFactory().get("/oidc/callback/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    backend.request = request
    return backend


@pytest.fixture
def cast(make_user):
    return {"admin": make_user("admin", roles=[Role.ADMIN]),
            "dsb": make_user("dsb", roles=[Role.DPO]),
            "kollegin": make_user("kollegin")}


def _form(employee: Employee, **changes) -> dict:
    data = {"personnel_number": employee.personnel_number, "last_name": employee.last_name,
            "first_name": employee.first_name, "unit": employee.unit_id,
            "supervisor": employee.supervisor_id or "", "active": "on" if employee.active else "",
            "user": employee.user_id or "", "email": employee.email,
            "service_phone": employee.service_phone, "mobile_phone": employee.mobile_phone,
            "room": employee.room_id or "", "workstation": employee.workstation}
    data.update(changes)
    return data


def test_reproduction_the_dpo_email_cannot_be_set_to_the_admins_identity(client, cast, oidc):
    """As recorded: the administrator edits the DPO's employee record in the admin site and sets
    the e-mail to their own IdP identity, then logs in with it - and was the DPO."""
    dsb = cast["dsb"].employee
    login_verified(client, cast["admin"])
    page = client.get(f"{ADMIN}{dsb.pk}/change/").content.decode()
    assert 'name="email"' not in page and 'name="user"' not in page  # read-only
    client.post(f"{ADMIN}{dsb.pk}/change/", _form(dsb, email=ATTACKER_IDP_MAIL))
    dsb.refresh_from_db()
    assert dsb.email == "dsb@teststadt.example"
    # Any other path (organisation import, shell) is refused too.
    dsb.email = ATTACKER_IDP_MAIL
    with pytest.raises(AccessDenied), transaction.atomic():
        dsb.save()
    # And if the address were changed anyway (raw SQL, a restored dump): the login does not map
    # to the DPO's account; the refusal is audited.
    Employee.objects.filter(pk=dsb.pk).update(email=ATTACKER_IDP_MAIL)
    mark = audit_mark()
    with pytest.raises(SuspiciousOperation):
        oidc.filter_users_by_claims({"email": ATTACKER_IDP_MAIL, "sub": "it-admin"})
    event = AuditEvent.objects.get(seq__gt=mark, action="auth.external_login_refused")
    assert event.object_repr == "dsb" and event.after["email"] == ATTACKER_IDP_MAIL


def test_reproduction_the_dpo_account_cannot_be_linked_to_the_admins_record(client, cast, oidc):
    """As recorded: the administrator unlinks the DPO's record and links their own employee
    record to the DPO's account; their own OIDC login then maps to it."""
    admin, dsb = cast["admin"].employee, cast["dsb"]
    dpo_record = Employee.objects.get(user=dsb).pk
    login_verified(client, cast["admin"])
    client.post(f"{ADMIN}{dpo_record}/change/",
                _form(Employee.objects.get(pk=dpo_record), user=""))
    assert Employee.objects.get(pk=dpo_record).user_id == dsb.pk
    with pytest.raises(AccessDenied), transaction.atomic():  # the admin's own (locked) record
        Employee.objects.filter(pk=dpo_record).update(user=None)
        admin.user = dsb
        admin.save()
    # A record of someone without a role may not point at the DPO's account either.
    plain = Employee.objects.get(user=cast["kollegin"])
    Employee.objects.filter(pk=dpo_record).update(user=None)
    with pytest.raises(AccessDenied), transaction.atomic():
        plain.user = dsb
        plain.save()
    # Forced anyway: single sign-on does not follow the link to the DPO's account.
    Employee.objects.filter(pk=plain.pk).update(user=dsb)
    with pytest.raises(SuspiciousOperation):
        oidc.filter_users_by_claims({"email": plain.email})


def test_the_dpo_mobile_number_cannot_be_redirected(client, cast):
    """Re-attack of issue 16: the administrator set the DPO's mobile number to their own phone;
    alarm SMS with one-time answer links (and on-call messages) then reached the administrator.
    The number is locked like the e-mail; unit, room and service phone stay master data."""
    dsb = cast["dsb"].employee
    dsb_mobile = dsb.mobile_phone
    login_verified(client, cast["admin"])
    page = client.get(f"{ADMIN}{dsb.pk}/change/").content.decode()
    assert 'name="mobile_phone"' not in page and 'name="room"' in page
    client.post(f"{ADMIN}{dsb.pk}/change/", _form(dsb, mobile_phone="0171 6666666"))
    dsb.refresh_from_db()
    assert dsb.mobile_phone == dsb_mobile
    dsb.mobile_phone = "0171 6666666"
    with pytest.raises(AccessDenied), transaction.atomic():
        dsb.save()
    # Spacing is no change.
    dsb.refresh_from_db()
    dsb.mobile_phone = f" {dsb_mobile} "
    with transaction.atomic():
        dsb.save()


def test_ordinary_records_stay_editable_and_logins_still_map(client, cast, oidc):
    """No role, no lock: the administrator corrects a colleague's e-mail; the colleague's own
    login is found through the record as long as it is the account's address."""
    kollegin = cast["kollegin"]
    login_verified(client, cast["admin"])
    page = client.get(f"{ADMIN}{kollegin.employee.pk}/change/").content.decode()
    assert 'name="email"' in page
    response = client.post(f"{ADMIN}{kollegin.employee.pk}/change/",
                           _form(kollegin.employee, mobile_phone="0171 5555555"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(oidc.filter_users_by_claims({"email": "KOLLEGIN@teststadt.example"})) \
        == [kollegin]


def test_taking_the_role_away_unlocks_and_a_dpo_role_back_needs_a_second_person(cast):
    from beistand.accounts import services

    admin, dsb = cast["admin"], cast["dsb"]
    grant = dsb.role_grants.get(role=Role.DPO)
    services.revoke_role(admin, grant.pk, "Wechsel der Funktion")
    employee = Employee.objects.get(user=dsb)
    employee.email = "dsb.neu@teststadt.example"
    # A role that ended lately still locks (revoke, change, grant again must not work).
    with pytest.raises(AccessDenied), transaction.atomic():
        employee.save()
    from beistand.accounts.models import RoleGrant

    RoleGrant.objects.filter(pk=grant.pk).update(
        revoked_at=timezone.now() - timedelta(days=services.IDENTITY_LOCK_AFTER_DAYS + 1))
    with transaction.atomic():
        employee.save()
    again = services.grant_role(admin, dsb, Role.DPO, "Erneute Bestellung zur DSB 2026",
                                expires_at=None)
    assert again.pending  # four-eyes
