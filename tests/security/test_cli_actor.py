"""Re-attack of issue 16: `beistand enrolment-codes --admin NAME`, `reset-second-factor` and
Django's `changepassword` ran without anyone proving who acts - the operating-system account
named a person (or nobody) and the audit trail believed it.

Now each of them names the acting administrator (``--as``), who proves it with password and
second factor as at the web login (``accounts.console``); nobody resets their own second factor
or sets their own password there; `beistand changepassword` is refused with a pointer to
`beistand set-password … --as …`. The one exception: the last administrator's own lost phone."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from beistand import cli
from beistand.accounts import services
from beistand.accounts.models import ApiToken, EnrolmentCode
from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from tests.accounts.helpers import audit_mark, fresh_code, totp_device
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    user = make_user("admin", roles=[Role.ADMIN])
    user.totp = totp_device(user)
    return user


def proof(user, password=PASSWORD):
    return io.StringIO(f"{password}\n{fresh_code(user.totp)}\n")


def test_reproduction_enrolment_codes_need_a_proven_admin(admin, org):
    room = str(org["rooms"][0].pk)
    with pytest.raises(CommandError, match="falsch"):
        call_command("enrolment_codes", "--admin", "admin", "--name", "PC", "--room", room,
                     stdin=proof(admin, password="geraten"), stdout=io.StringIO())
    assert not EnrolmentCode.objects.exists()
    mark = audit_mark()
    call_command("enrolment_codes", "--as", "admin", "--name", "PC", "--room", room,
                 stdin=proof(admin), stdout=io.StringIO())
    event = AuditEvent.objects.get(seq__gt=mark, action="accounts.enrolment.created")
    assert event.actor_id == admin.pk


def test_reproduction_a_second_factor_reset_names_a_proven_other_admin(admin, make_user):
    zks = make_user("zks", roles=[Role.ZKS])
    zks_device = totp_device(zks)
    with pytest.raises(CommandError, match="--as"):
        call_command("reset_second_factor", "zks")
    with pytest.raises(CommandError, match="eigenen zweiten Faktor"):
        call_command("reset_second_factor", "admin", "--as", "admin", stdin=proof(admin))
    with pytest.raises(CommandError, match="falsch"):
        call_command("reset_second_factor", "zks", "--as", "admin",
                     stdin=proof(admin, password="geraten"))
    zks_device.refresh_from_db()  # still there
    # A ZKS's phone: a second person proves it too (four eyes, tests/security/
    # test_reattack_findings.py); alone, nothing is reset.
    with pytest.raises(CommandError, match="zu zweit"):
        call_command("reset_second_factor", "zks", "--as", "admin", stdin=proof(admin))
    second = make_user("admin2", roles=[Role.ADMIN])
    second.totp = totp_device(second)
    admin.totp.refresh_from_db()
    admin.totp.last_t = -1  # a second proof within the same 30 s step
    admin.totp.save()
    mark = audit_mark()
    call_command("reset_second_factor", "zks", "--as", "admin", "--with", "admin2",
                 stdin=io.StringIO(proof(admin).getvalue() + proof(second).getvalue()),
                 stdout=io.StringIO())
    event = AuditEvent.objects.get(seq__gt=mark, action="auth.second_factor_reset")
    assert event.actor_id == admin.pk and event.object_repr == "zks"
    assert event.after["confirmed_by"] == "admin2"


def test_the_last_administrators_own_lost_phone(admin):
    # Nobody else could act: allowed without --as, audited without a person.
    mark = audit_mark()
    call_command("reset_second_factor", "admin", stdout=io.StringIO())
    event = AuditEvent.objects.get(seq__gt=mark, action="auth.second_factor_reset")
    assert event.actor_id is None


def test_set_password_names_a_proven_admin_and_revokes_tokens(admin, make_user, client):
    kollegin = make_user("kollegin")
    from django.test import RequestFactory

    request = RequestFactory().post("/api/v1/auth/token", REMOTE_ADDR="10.0.0.9")
    clear, _ = services.issue_api_token(request, "kollegin", PASSWORD)
    new = "Neues-Passwort-2026!"
    with pytest.raises(CommandError, match="eigene Passwort"):
        call_command("set_password", "admin", "--as", "admin",
                     stdin=io.StringIO(f"{PASSWORD}\n{fresh_code(admin.totp)}\n{new}\n{new}\n"))
    call_command("set_password", "kollegin", "--as", "admin", stdout=io.StringIO(),
                 stdin=io.StringIO(f"{PASSWORD}\n{fresh_code(admin.totp)}\n{new}\n{new}\n"))
    kollegin.refresh_from_db()
    assert kollegin.check_password(new)
    assert ApiToken.objects.get(prefix=clear[:12]).revoked_at is not None
    event = AuditEvent.objects.filter(action="auth.password_set").get()
    assert event.actor_id == admin.pk


def test_djangos_changepassword_is_refused(capsys):
    with pytest.raises(SystemExit) as ended:
        cli.main(["beistand", "changepassword", "admin"])
    assert ended.value.code == 2
    assert "beistand set-password" in capsys.readouterr().err
