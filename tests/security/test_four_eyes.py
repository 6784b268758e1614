"""Issue 16, finding 7: administrators granted themselves DPO, querier or ZKS and then read the
DPO's access log or queried the register. Now nobody grants a role to themselves, a DPO or admin
grant counts only after a second person (another admin or the DPO) confirmed it, DPO and ZKS
grants can be time-limited, and all of it is audited. The command line is an operator path:
it grants admin/DPO at once only to bootstrap an installation without any administrator."""

import io
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from beistand.accounts import services
from beistand.accounts.models import RoleGrant
from beistand.accounts.roles import Role
from tests.accounts.helpers import (
    actions_since,
    audit_mark,
    code_for,
    login_verified,
    totp_device,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/konto/verwaltung/rollen/"
User = get_user_model()


def fresh(user):
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("role", [Role.DPO, Role.QUERIER, Role.ZKS, Role.ADMIN])
def test_reproduction_admin_cannot_grant_a_role_to_themselves(client, make_user, role):
    admin = make_user("admin", roles=[Role.ADMIN])
    login_verified(client, admin)
    mark, count = audit_mark(), RoleGrant.objects.count()
    response = client.post(PAGE + "vergeben/", {
        "username": "admin", "role": role, "reason": "Ich brauche das ausnahmsweise",
        "expires_on": (date.today() + timedelta(days=5)).isoformat()})
    assert response.status_code == 400
    assert "Niemand kann sich selbst eine Rolle vergeben" in response.content.decode()
    assert RoleGrant.objects.count() == count and actions_since(mark) == []
    assert not services.has_role(fresh(admin), Role.DPO, Role.QUERIER, Role.ZKS) \
        or role == Role.ADMIN
    # The register's access log stays closed to the admin.
    assert client.get("/register/zugriffsprotokoll/").status_code in (403, 404) \
        or role != Role.DPO


def test_self_grant_refused_in_the_api(client, make_user, bearer):
    headers = bearer(make_user("admin", roles=[Role.ADMIN]))
    response = client.post("/api/v1/roles/grants", {
        "username": "admin", "role": "zks", "reason": "Vertretung ZKS im Urlaub"},
        content_type="application/json", **headers)
    assert response.status_code == 400
    assert not RoleGrant.objects.filter(role=Role.ZKS).exists()


def test_dpo_grant_needs_a_second_person(client, make_user):
    admin = make_user("admin", roles=[Role.ADMIN])
    other_admin = make_user("admin2", roles=[Role.ADMIN])
    target = make_user("kollegin")
    mark = audit_mark()
    grant = services.grant_role(admin, target, Role.DPO, "Bestellung zur DSB, Ratsbeschluss 7/26",
                                expires_at=timezone.now() + timedelta(days=365))
    assert grant.pending and not services.has_role(fresh(target), Role.DPO)
    with pytest.raises(services.InvalidInput, match="zweite Person"):
        services.confirm_grant(admin, grant.pk)
    assert not services.has_role(fresh(target), Role.DPO)

    login_verified(client, other_admin)
    page = client.get(PAGE).content.decode()
    assert "Wartet auf Bestätigung" in page and f"/rollen/{grant.pk}/bestaetigen/" in page
    response = client.post(f"{PAGE}{grant.pk}/bestaetigen/")
    assert response.status_code == 302
    grant.refresh_from_db()
    assert not grant.pending and grant.confirmed_by == other_admin
    assert services.has_role(fresh(target), Role.DPO)
    # Time-limited: the DPO grant carries its expiry.
    assert grant.expires_at is not None
    actions = actions_since(mark)
    assert actions.count("accounts.rolegrant.create") == 1
    assert "accounts.rolegrant.update" in actions


def test_the_dpo_confirms_an_admin_grant_but_not_their_own(client, make_user):
    admin = make_user("admin", roles=[Role.ADMIN])
    dpo = make_user("dsb", roles=[Role.DPO])
    target = make_user("neu")
    grant = services.grant_role(admin, target, Role.ADMIN, "Vertretung der IT-Administration")
    assert not services.has_role(fresh(target), Role.ADMIN)
    services.confirm_grant(dpo, grant.pk)
    assert services.has_role(fresh(target), Role.ADMIN)
    # The grantee never confirms their own pending grant.
    second = services.grant_role(admin, dpo, Role.ADMIN, "Vertretung der IT-Administration")
    with pytest.raises(services.InvalidInput, match="eigene Rolle"):
        services.confirm_grant(dpo, second.pk)
    # Nor does a role without the right.
    with pytest.raises(services.AccessDenied):
        services.confirm_grant(make_user("melder"), second.pk)


def test_zks_grant_time_limited_and_expires(make_user):
    admin = make_user("admin", roles=[Role.ADMIN])
    target = make_user("kollege")
    grant = services.grant_role(admin, target, Role.ZKS, "Vertretung ZKS im Urlaub",
                                expires_at=timezone.now() + timedelta(days=14))
    assert services.has_role(fresh(target), Role.ZKS)
    RoleGrant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not services.has_role(fresh(target), Role.ZKS)


def test_cli_bootstraps_the_first_admin_then_needs_a_second_person(make_user):
    erste = make_user("erste")
    make_user("zweite")
    call_command("grant_role", "erste", "admin", reason="Erstinstallation durch IT")
    assert services.has_role(fresh(User.objects.get(username="erste")), Role.ADMIN)
    # Afterwards a grant names its acting person (tests/security/test_cli_grants.py).
    device = totp_device(erste)
    call_command("grant_role", "zweite", "dpo", "--as", "erste",
                 reason="Bestellung zur DSB, Ratsbeschluss 7/26",
                 stdin=io.StringIO(f"{PASSWORD}\n{code_for(device)}\n"), stdout=io.StringIO())
    zweite = fresh(User.objects.get(username="zweite"))
    assert not services.has_role(zweite, Role.DPO)
    grant = RoleGrant.objects.get(user=zweite, role=Role.DPO)
    assert grant.pending and grant.granted_by == erste
    services.confirm_grant(make_user("dsb2", roles=[Role.ADMIN]), grant.pk)
    assert services.has_role(fresh(zweite), Role.DPO)


def test_cli_refuses_nothing_silently(make_user):
    make_user("erste")
    with pytest.raises(CommandError):
        call_command("grant_role", "erste", "admin", reason="kurz")
