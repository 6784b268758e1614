"""What the web UI shows: the role-dependent start page ("what needs my attention") and the
DPO's check of the audit trail started from it.

The start page is composed of the cards the apps provide: each app registers its providers in
its ``cards.py`` (see ``beistand.core.cards``), the web app imports those modules at start-up
(``WebConfig.ready``) and here only builds the viewer, lets every provider contribute and puts
the greeting on top; it reaches into no app. Views stay thin: they call ``start_page_for(user)``
and render the result. Every number shown comes from the database.
"""

from dataclasses import dataclass

from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.accounts.services import require_role, roles_of
from beistand.audit import services as audit
from beistand.core.cards import Attention, Card, Viewer, compose
from beistand.organisation import services as org

# The audit event that stores the result of a verification started from the UI.
AUDIT_VERIFIED = audit.VERIFIED


@dataclass
class StartPage:
    greeting: str
    subline: str
    roles: list[str]
    attention: list[Attention]
    cards: list[Card]


# --- The start page ---------------------------------------------------------------------------

def start_page_for(user, request=None) -> StartPage:
    """Everything the start page shows ``user``, according to the roles they hold now.

    ``request`` tells whether this session came through a trusted identity provider (whose own
    second factor then counts).
    """
    roles = roles_of(user)
    employee = org.employee_of(user)
    viewer = Viewer(user=user, roles=roles, employee=employee, now=timezone.now(),
                    request=request)
    # Role work first (what needs attention), then the user's own data, which every role has.
    cards = compose(viewer)

    if employee is not None:
        greeting = f"Guten Tag, {employee.full_name}"
        place = [str(employee.unit)]
        if employee.room_id:
            place.append(f"Raum {employee.room.number}")
        subline = " · ".join(place)
    else:
        greeting = f"Guten Tag, {org.display_name(user)}"
        subline = "Technisches Konto ohne Beschäftigtendatensatz"
    role_names = [Role(r).label for r in Role if r in roles]
    return StartPage(greeting=greeting, subline=subline, roles=role_names,
                     attention=viewer.attention, cards=cards)


# --- Data protection officer: audit trail ----------------------------------------------------

@dataclass
class AuditStatus:
    entries: int
    last_check_at: str = ""
    last_check_by: str = ""
    ok: bool | None = None  # None: never checked from the UI
    checked: int = 0
    reason: str = ""
    bad_seq: int | None = None


def audit_status() -> AuditStatus:
    """The size of the audit trail and the result of the newest verification started in the UI."""
    status = AuditStatus(entries=audit.entry_count())
    last = audit.last_verification()
    if last is not None and isinstance(last.after, dict):
        status.last_check_at = timezone.localtime(last.at).strftime("%d.%m.%Y, %H:%M Uhr")
        status.last_check_by = last.actor_label
        status.ok = bool(last.after.get("ok"))
        status.checked = int(last.after.get("checked") or 0)
        status.reason = str(last.after.get("reason") or "")
        status.bad_seq = last.after.get("bad_seq")
    return status


def verify_audit_trail(user) -> AuditStatus:
    """The DPO checks the whole chain; the result is recorded in the trail itself."""
    require_role(user, Role.DPO)
    audit.verify_and_record(user)
    return audit_status()
