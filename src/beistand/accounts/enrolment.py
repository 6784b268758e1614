"""One-time enrolment codes: a workstation client pairs itself with a short code instead of a
user login (issue 21, item 8).

An administrator creates codes for seats – one, or many at once for a roll-out (one per
workstation: device name, room and/or person) – valid for a few hours. The IT staff member
types the code into the client on that PC (``beistand-desktop pair --code …`` or the settings
dialog); the server checks it, issues a device token bound to the code's seat, and burns the
code. A code works exactly once and only until it expires.

Codes are 12 characters from an alphabet without look-alikes (``ABCDEFGHJKLMNPQRSTUVWXYZ23456789``,
60 bits), shown as ``XXXX-XXXX-XXXX``; case, spaces and dashes do not matter. Only a SHA-256
hash is stored. Refused attempts (unknown, expired, used, withdrawn) are rate limited with the
login limits per source (``accounts.lockout``: a failure row under the pseudo account
``#einmalcode``; ``BEISTAND_LOCKOUT_SOURCE_FAILURES`` per address or IPv6 network within
``BEISTAND_LOCKOUT_MINUTES``) and audited. There is no limit over all addresses: with 60 bits
nobody guesses a code, and a global lock would let anyone stop a roll-out with a few wrong
codes (issue 16, re-attack); creation and use are
audited through the model (``audited(EnrolmentCode)``) and ``accounts.enrolment.*`` events.
"""

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from beistand.accounts import lockout
from beistand.accounts.models import DeviceToken, EnrolmentCode, LoginFailure
from beistand.accounts.roles import Role
from beistand.accounts.services import (
    acting_for,
    check_device_seat,
    create_device_token,
    require_role,
)
from beistand.accounts.tokens import hash_secret
from beistand.audit import services as audit
from beistand.core.errors import InvalidInput, Locked, NotFound

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
MAX_HOURS = 7 * 24
DEFAULT_HOURS = 24
MAX_BATCH = 500
# The pseudo account of refused codes in the login-failure table (cannot be a user name).
FAILURE_ACCOUNT = "#einmalcode"


def normalise(code: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", code or "").upper()


def display(clear: str) -> str:
    """``ABCD-EFGH-JKLM``"""
    return "-".join(clear[i:i + 4] for i in range(0, len(clear), 4))


def _code_hash(normalised: str) -> str:
    return hash_secret("enrol:" + normalised)


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def create_codes(actor, seats: list[dict], hours: int = DEFAULT_HOURS,
                 kind: str = DeviceToken.Kind.WORKSTATION,
                 alarm_templates: str = "") -> list[tuple[str, EnrolmentCode]]:
    """One code per seat (``{"name", "room", "user"}``); returns (code as shown, record).
    All or nothing: one wrong seat refuses the whole batch."""
    require_role(actor, Role.ADMIN)
    if not seats:
        raise InvalidInput("Mindestens ein Arbeitsplatz ist nötig.", field="seats")
    if len(seats) > MAX_BATCH:
        raise InvalidInput(f"Höchstens {MAX_BATCH} Codes auf einmal.", field="seats")
    if not 1 <= int(hours) <= MAX_HOURS:
        raise InvalidInput(f"Gültigkeit: 1 bis {MAX_HOURS} Stunden.", field="hours")
    checked = [(*check_device_seat(actor, s.get("name", ""), kind, s.get("room"), s.get("user"),
                                   alarm_templates), s.get("room"), s.get("user"))
               for s in seats]
    expires = timezone.now() + timedelta(hours=int(hours))
    out = []
    with transaction.atomic(), acting_for(actor):
        for name, templates, room, user in checked:
            clear = _new_code()
            code = EnrolmentCode.objects.create(
                name=name, kind=kind, room=room, user=user, alarm_templates=templates,
                prefix=clear[:4], code_hash=_code_hash(clear), created_by=actor,
                expires_at=expires)
            out.append((display(clear), code))
        audit.record("accounts.enrolment.created", object_type="accounts.enrolmentcode",
                     object_repr=f"{len(out)} Einmalcode(s)",
                     after={"ids": [c.pk for _, c in out], "hours": int(hours), "kind": kind})
    return out


def list_codes(actor):
    require_role(actor, Role.ADMIN)
    return EnrolmentCode.objects.select_related("room", "user", "device")


def revoke_code(actor, code_id: int) -> EnrolmentCode:
    require_role(actor, Role.ADMIN)
    with transaction.atomic(), acting_for(actor):
        code = EnrolmentCode.objects.select_for_update().filter(pk=code_id).first()
        if code is None:
            raise NotFound("Diesen Einmalcode gibt es nicht.")
        if code.revoked_at is None and code.used_at is None:
            code.revoked_at = timezone.now()
            code.save()
    return code


def _local(when) -> str:
    return timezone.localtime(when).strftime("%d.%m.%Y %H:%M")


def _refused(request, normalised: str, reason: str, detail: str, code=None):
    """Counts the refused attempt (rate limit), audits it and raises the German error."""
    with transaction.atomic(), audit.acting_as(
            audit.actor_for_user(None, lockout.source_of(request))):
        LoginFailure.objects.filter(at__lt=lockout.window_start()).delete()
        LoginFailure.objects.create(source=lockout.source_of(request),
                                    username=FAILURE_ACCOUNT, password_key="")
        audit.record("accounts.enrolment.refused", obj=code,
                     object_type=None if code else "accounts.enrolmentcode",
                     object_repr=str(code) if code else f"{normalised[:4]}…",
                     after={"reason": reason})
    raise InvalidInput(detail, field="code")


def redeem(request, code: str, client_name: str = "") -> tuple[str, DeviceToken]:
    """Exchanges a valid code for a new device token of its seat and burns the code.
    Wrong, expired, used or withdrawn codes are refused with a German reason."""
    if lockout.source_locked(request):
        raise Locked("Zu viele falsche Einmalcodes: die Kopplung mit Einmalcode ist "
                     "vorübergehend gesperrt. Bitte versuchen Sie es später erneut.",
                     retry_after=settings.LOCKOUT_MINUTES * 60)
    normalised = normalise(code)
    if len(normalised) != CODE_LENGTH:
        _refused(request, normalised, "format",
                 f"Ein Einmalcode hat {CODE_LENGTH} Zeichen (z. B. ABCD-EFGH-JKLM). Bitte "
                 "prüfen Sie die Eingabe.")
    now = timezone.now()
    refusal = None
    with transaction.atomic(), audit.acting_as(
            audit.actor_for_user(None, lockout.source_of(request))):
        found = (EnrolmentCode.objects.select_for_update()
                 .filter(code_hash=_code_hash(normalised)).first())
        if found is None:
            refusal = ("unknown", "Dieser Einmalcode ist nicht bekannt. Bitte prüfen Sie die "
                                  "Eingabe oder lassen Sie sich einen neuen Code geben.")
        elif found.revoked_at is not None:
            refusal = ("revoked", "Dieser Einmalcode wurde von der Administration "
                                  "zurückgezogen. Bitte lassen Sie sich einen neuen Code geben.")
        elif found.used_at is not None:
            refusal = ("used", f"Dieser Einmalcode wurde bereits am {_local(found.used_at)} "
                               "verwendet – ein Code koppelt genau ein Gerät. Bitte lassen Sie "
                               "sich einen neuen Code geben.")
        elif found.expires_at <= now:
            refusal = ("expired", f"Dieser Einmalcode ist abgelaufen (gültig bis "
                                  f"{_local(found.expires_at)}). Bitte lassen Sie sich einen "
                                  "neuen Code geben.")
        else:
            name = found.name
            extra = (client_name or "").strip()
            if extra and extra != name:
                name = f"{name} ({extra})"[:100]
            clear, device = create_device_token(
                found.created_by, name, found.kind, room=found.room, user=found.user,
                alarm_templates=found.alarm_templates)
            found.used_at = now
            found.device = device
            found.save()
            audit.record("accounts.enrolment.redeemed", obj=found,
                         after={"device": device.pk, "client_name": extra[:100]})
            return clear, device
    _refused(request, normalised, refusal[0], refusal[1], code=found)
    raise AssertionError("unreachable")
