"""Attack review of issue 16, finding 7: `beistand grant-role <me> querier|zks …` run by that same
person granted the role at once - the command line named nobody and checked nothing.

Now a grant from the command line names the acting person (``--as``), who proves it with
password and second factor as at the web login; the web's rules follow: no self-grant, DPO and
admin wait for a second person, the audit trail names the person. Without ``--as`` only the
first administrator of a fresh installation is granted (bootstrap)."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from beistand.accounts import services
from beistand.accounts.models import RoleGrant
from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from tests.accounts.helpers import audit_mark, fresh_code, totp_device, wrong_code
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
User = get_user_model()
UNTIL = (timezone.localdate() + timedelta(days=30)).isoformat()


def fresh(user):
    return User.objects.get(pk=user.pk)


def grant(*args, answers=None, **options):
    """``beistand grant-role …``, the prompts answered from ``answers`` (password, code)."""
    stdin = io.StringIO("".join(f"{a}\n" for a in answers or ()))
    out = io.StringIO()
    call_command("grant_role", *args, stdin=stdin, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def admin(make_user):
    user = make_user("admin", roles=[Role.ADMIN])
    user.totp = totp_device(user)
    return user


@pytest.mark.parametrize("role,extra", [(Role.QUERIER, ["--until", UNTIL]), (Role.ZKS, [])])
def test_reproduction_an_admin_cannot_grant_themselves_on_the_command_line(admin, role, extra):
    """As recorded: the administrator runs `beistand grant-role admin querier|zks` - it counted at
    once. Without --as the command names nobody and is refused; with --as themselves too."""
    count = RoleGrant.objects.count()
    with pytest.raises(CommandError, match="--as"):
        grant("admin", role, "--reason", "Sachbearbeitung Fall 2026/17", *extra)
    with pytest.raises(CommandError, match="selbst"):
        grant("admin", role, "--reason", "Sachbearbeitung Fall 2026/17", *extra,
              "--as", "admin", answers=[PASSWORD, fresh_code(admin.totp)])
    assert RoleGrant.objects.count() == count
    assert not services.has_role(fresh(admin), Role.QUERIER, Role.ZKS)


def test_a_grant_names_the_acting_person_who_proves_it(admin, make_user):
    target = make_user("kollegin")
    mark = audit_mark()
    out = grant("kollegin", "querier", "--reason", "Sachbearbeitung Fall 2026/17",
                "--until", UNTIL, "--as", "admin", answers=[PASSWORD, fresh_code(admin.totp)])
    assert "hat jetzt die Rolle" in out
    granted = RoleGrant.objects.get(user=target, role=Role.QUERIER)
    assert granted.granted_by == admin and not granted.pending
    event = AuditEvent.objects.get(seq__gt=mark, action="accounts.rolegrant.create")
    assert event.actor_id == admin.pk
    assert "auth.login" in set(AuditEvent.objects.filter(seq__gt=mark)
                               .values_list("action", flat=True))


@pytest.mark.parametrize("answers", [
    ["falsch-falsch-falsch", None],  # wrong password
    [PASSWORD, "wrong"],              # wrong second-factor code
    [PASSWORD, ""],                   # no code although the admin role needs one
])
def test_the_acting_person_must_prove_password_and_second_factor(admin, make_user, answers):
    make_user("kollegin")
    answers = [a if a != "wrong" else wrong_code(admin.totp) for a in answers if a is not None]
    with pytest.raises(CommandError):
        grant("kollegin", "zks", "--reason", "Vertretung ZKS im Urlaub", "--as", "admin",
              answers=answers)
    assert not RoleGrant.objects.filter(role=Role.ZKS).exists()


def test_the_acting_person_must_be_an_administrator(admin, make_user):
    make_user("kollege")
    make_user("kollegin")
    with pytest.raises(CommandError, match="Administration"):
        grant("kollegin", "zks", "--reason", "Vertretung ZKS im Urlaub", "--as", "kollege",
              answers=[PASSWORD, ""])
    assert not RoleGrant.objects.filter(role=Role.ZKS).exists()


def test_dpo_and_admin_from_the_command_line_wait_for_a_second_person(admin, make_user):
    target = make_user("kollegin")
    dpo = make_user("dsb", roles=[Role.DPO])
    out = grant("kollegin", "dpo", "--reason", "Bestellung zur DSB, Ratsbeschluss 7/26",
                "--as", "admin", answers=[PASSWORD, fresh_code(admin.totp)])
    assert "wartet auf Bestätigung" in out
    pending = RoleGrant.objects.get(user=target, role=Role.DPO)
    assert pending.pending and pending.granted_by == admin
    assert not services.has_role(fresh(target), Role.DPO)
    with pytest.raises(services.InvalidInput, match="zweite Person"):
        services.confirm_grant(admin, pending.pk)
    services.confirm_grant(dpo, pending.pk)
    assert services.has_role(fresh(target), Role.DPO)


def test_bootstrap_grants_only_the_first_administrator(make_user):
    first = make_user("erste", employee=False)
    make_user("zweite")
    with pytest.raises(CommandError, match="keine aktive Administration"):
        grant("erste", "zks", "--reason", "Erstinstallation durch IT")
    grant("erste", "admin", "--reason", "Erstinstallation durch IT")
    assert services.has_role(fresh(first), Role.ADMIN)
    assert RoleGrant.objects.get(user=first).granted_by is None
    # From now on every grant names its acting person.
    with pytest.raises(CommandError, match="--as"):
        grant("zweite", "admin", "--reason", "Vertretung der IT-Administration")
    assert not RoleGrant.objects.filter(user__username="zweite").exists()
