"""The report workflow as data: one transition table, enforced only by ``services.transition``.

Each row names the state it starts from, the action (API name), who may take it, the state it
leads to, the conditions that must hold, and the fields it needs. ``tests/reports/
test_workflow_table.py`` walks the whole table.
"""

from dataclasses import dataclass

from django.conf import settings

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.organisation import services as org
from beistand.reports.models import Status


@dataclass(frozen=True)
class Transition:
    state: str
    action: str
    actor: str  # one of the ACTORS keys below
    next_state: str
    conditions: tuple[str, ...] = ()
    label: str = ""


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Status.DRAFT, "submit", "reporter", Status.SUBMITTED, (), "Einreichen"),
    Transition(Status.SUBMITTED, "release", "supervisor", Status.RELEASED, (), "Freigeben"),
    Transition(Status.SUBMITTED, "return", "supervisor", Status.RETURNED,
               ("comment_given",), "Zurückgeben"),
    Transition(Status.RETURNED, "resubmit", "reporter", Status.SUBMITTED, (),
               "Erneut einreichen"),
    Transition(Status.RELEASED, "file_complaint", "personnel", Status.COMPLAINT_FILED,
               ("complaint_data_given",), "Anzeige erfasst"),
    # Zero tolerance: an attack always goes to the criminal complaint first. Only a report
    # without attack offence and below the entry threshold may be closed right after release.
    Transition(Status.RELEASED, "close", "zks", Status.CLOSED,
               ("reason_given", "no_attack", "below_threshold"), "Abschließen"),
    Transition(Status.COMPLAINT_FILED, "publish", "zks", Status.PUBLISHED,
               ("at_threshold", "victim_is_employee", "not_from_other_authority",
                "complaint_recorded", "known_perpetrator"), "Im Register veröffentlichen"),
    Transition(Status.COMPLAINT_FILED, "close", "zks", Status.CLOSED, ("reason_given",),
               "Abschließen"),
)

FINAL_STATES = frozenset({Status.PUBLISHED, Status.CLOSED})


def entry_threshold() -> int:
    return settings.REGISTER_ENTRY_THRESHOLD


# --- Who may act -----------------------------------------------------------------------------

def _is_reporter(user, report) -> bool:
    employee = org.employee_of(user)
    return (employee is not None and employee.pk == report.reporter_id) or (
        report.created_by_id == getattr(user, "pk", None))


def _is_supervisor(user, report) -> bool:
    employee = org.employee_of(user)
    if employee is None:
        return False
    people = [report.reporter, *report.victims.all()]
    return any(org.direct_supervisor(person) == employee for person in people)


ACTORS = {
    "reporter": ("die meldende Person", _is_reporter),
    "supervisor": ("die/der direkte Vorgesetzte der meldenden oder betroffenen Person",
                   _is_supervisor),
    "personnel": ("die Personalverwaltung (Amt 11)",
                  lambda user, report: accounts.has_role(user, Role.PERSONNEL)),
    "zks": ("die ZKS (I/3)", lambda user, report: accounts.has_role(user, Role.ZKS)),
}


def actor_may(transition: Transition, user, report) -> bool:
    return ACTORS[transition.actor][1](user, report)


# --- Conditions --------------------------------------------------------------------------------
# Each returns None when it holds, else a German reason. ``payload`` carries the action's fields.
# Conditions on the case (state of the facts) give 409; missing input gives 400 (field named).

INPUT_CONDITIONS = {"comment_given": "comment", "reason_given": "reason",
                    "complaint_data_given": "police_file_number"}


def _comment_given(report, payload):
    if not (payload.get("comment") or "").strip():
        return "Bitte begründen Sie die Rückgabe (Kommentar)."
    return None


def _reason_given(report, payload):
    if not (payload.get("reason") or "").strip():
        return "Bitte geben Sie den Grund des Abschlusses an."
    return None


def _complaint_data_given(report, payload):
    if not (payload.get("police_file_number") or payload.get("complaint_date")
            or payload.get("house_ban_date")):
        return ("Bitte Aktenzeichen der Strafanzeige, Datum der Anzeige/des Strafantrags oder "
                "Datum des Hausverbots angeben.")
    return None


def _no_attack(report, payload):
    if report.attack:
        return ("Null Toleranz: Ein Angriff wird immer zur Anzeige gebracht; erst danach kann "
                "die Meldung abgeschlossen werden.")
    return None


def _below_threshold(report, payload):
    if report.hazard_level >= entry_threshold():
        return "Meldungen ab der Eintragungsschwelle durchlaufen die Strafanzeige."
    return None


def _at_threshold(report, payload):
    if report.hazard_level < entry_threshold():
        return (f"Gefährdungsstufe {report.hazard_level} liegt unter der Eintragungsschwelle "
                f"(Stufe {entry_threshold()}): keine Eintragung ins Register.")
    return None


def _victim_is_employee(report, payload):
    if not report.victims.filter(active=True).exists():
        return "Betroffen muss eine Beschäftigte/ein Beschäftigter dieser Behörde sein."
    return None


def _not_from_other_authority(report, payload):
    if report.from_other_authority:
        return "Kenntnisse einer anderen Behörde dürfen nicht zu einer Eintragung führen."
    return None


def _complaint_recorded(report, payload):
    if not report.complaint_recorded:
        return ("Eine Eintragung setzt eine Strafanzeige, einen Strafantrag oder ein Hausverbot "
                "dieser Behörde voraus.")
    return None


def _known_perpetrator(report, payload):
    if not report.perpetrators.filter(known=True).exclude(last_name="").exists():
        return "Ohne namentlich bekannte Person ist keine Eintragung möglich."
    return None


CONDITIONS = {
    "comment_given": _comment_given,
    "reason_given": _reason_given,
    "complaint_data_given": _complaint_data_given,
    "no_attack": _no_attack,
    "below_threshold": _below_threshold,
    "at_threshold": _at_threshold,
    "victim_is_employee": _victim_is_employee,
    "not_from_other_authority": _not_from_other_authority,
    "complaint_recorded": _complaint_recorded,
    "known_perpetrator": _known_perpetrator,
}


def failed_conditions(transition: Transition, report, payload: dict) -> list[tuple[str, str]]:
    """[(condition, German reason)] for every condition of ``transition`` that does not hold."""
    failures = []
    for name in transition.conditions:
        reason = CONDITIONS[name](report, payload)
        if reason:
            failures.append((name, reason))
    return failures


def transitions_from(state: str) -> list[Transition]:
    return [t for t in TRANSITIONS if t.state == state]


def find(state: str, action: str) -> list[Transition]:
    """All rows for (state, action); several rows may share an action with other conditions."""
    return [t for t in TRANSITIONS if t.state == state and t.action == action]


def deadline_hours(state: str) -> int | None:
    return {
        Status.SUBMITTED: settings.REPORT_DEADLINE_RELEASE_HOURS,
        Status.RELEASED: settings.REPORT_DEADLINE_COMPLAINT_HOURS,
        Status.COMPLAINT_FILED: settings.REPORT_DEADLINE_ZKS_HOURS,
    }.get(state)
