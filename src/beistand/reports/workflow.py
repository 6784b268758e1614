"""The report workflow as data: the facts of each state and one transition table, enforced only by
``services.transition``.

``STATES`` holds everything that depends on a report's state alone: who must act (and is asked,
reminded and escalated against), the deadline, whether the reporter may still edit or attach,
who besides the author sees it, whether it is final, and the German texts that describe the state
in lists, mails and the case summary. The states and their German names are ``Status`` (the
model field's choices); every other module asks this table (``facts``, ``states``) instead of
spelling out states.

Each row of ``TRANSITIONS`` names the state it starts from, the action (API name), who may take
it, the state it leads to, the conditions that must hold, and the fields it needs.
``tests/reports/test_workflow_table.py`` walks the whole transition table,
``tests/reports/test_workflow_states.py`` checks that what others derive agrees with ``STATES``.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.core.state_tables import states_where
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


@dataclass(frozen=True)
class StateFacts:
    """What holds for a report while it is in one state."""

    # Whose work queue holds the case (an ``ACTORS`` key); None when nobody has to act.
    responsible: str | None = None
    responsible_label: str = ""      # that party in lists (column "Zuständig")
    responsible_phrase: str = ""     # that party in a sentence ("… hat nicht gehandelt")
    # Name of the setting with the hours to act once the state is entered (reminder before,
    # escalation after); None: no deadline runs.
    deadline_setting: str | None = None
    step: str = ""                   # what the deadline is for (case summary)
    # The mail that asks those who must act, on entering the state ({ref}: the file number);
    # the reporter of a returned report is asked through their own status mail instead.
    ask_subject: str = ""
    ask_intro: str = ""
    todo: str = ""                   # what they are asked to do (this mail, reminders)
    # A mail that tells the ZKS mailbox of the case on entering the state ("" = none).
    zks_subject: str = ""
    zks_intro: str = ""
    queue_title: str = ""            # section of the work queue ("" = not in any queue)
    next_step: str = ""              # what happens next, as the reporter reads it
    tone: str = "info"               # colour of the state's badge in the reporter's list
    reporter_edits: bool = False     # the reporter may change the content and (re)submit it
    reporter_attaches: bool = False  # the reporter may add attachments
    shared: bool = True              # seen by others than its author (everything but a draft)
    # Released by the supervisor: personnel management sees it, the complaint form exists.
    released: bool = False
    final: bool = False              # no action leads out; nobody adds anything
    # The supervisor confirms further affected colleagues (victims) while checking the report.
    victims_confirmable: bool = False


# In the order of the work queue's sections (a returned report first: it waits for its author).
STATES: dict[str, StateFacts] = {
    Status.DRAFT: StateFacts(
        next_step="Noch nicht abgesendet. Sie können die Meldung bearbeiten und absenden.",
        reporter_edits=True, reporter_attaches=True, shared=False),
    Status.RETURNED: StateFacts(
        responsible="reporter", responsible_label="Meldende Person (Überarbeitung)",
        responsible_phrase="die meldende Person",
        queue_title="Zurückgegeben – bitte überarbeiten",
        next_step="Bitte überarbeiten Sie die Meldung und reichen Sie sie erneut ein.",
        tone="warning", reporter_edits=True, reporter_attaches=True),
    Status.SUBMITTED: StateFacts(
        responsible="supervisor", responsible_label="Vorgesetzte/r (Freigabe)",
        responsible_phrase="die/der direkte Vorgesetzte",
        deadline_setting="REPORT_DEADLINE_RELEASE_HOURS",
        step="Freigabe durch die/den Vorgesetzte/n",
        ask_subject="Meldung {ref}: bitte prüfen und freigeben",
        ask_intro="eine Beschäftigte/ein Beschäftigter Ihres Bereichs hat einen Vorfall gemeldet "
                  "(Meldung {ref}).",
        zks_subject="Neue Meldung {ref} eingegangen",
        zks_intro="die Meldung {ref} ist eingegangen und liegt der/dem direkten Vorgesetzten zur "
                  "Freigabe vor.",
        todo=("Bitte prüfen Sie die Meldung als direkte/r Vorgesetzte/r und geben Sie sie frei "
              "– oder geben Sie sie mit einem Kommentar zur Ergänzung zurück."),
        queue_title="Zur Freigabe",
        next_step="Ihre Vorgesetzte/Ihr Vorgesetzter prüft die Meldung und gibt sie frei.",
        reporter_attaches=True, victims_confirmable=True),
    Status.RELEASED: StateFacts(
        responsible="personnel", responsible_label="Personalverwaltung (Strafanzeige)",
        responsible_phrase="die Personalverwaltung (Amt 11)",
        deadline_setting="REPORT_DEADLINE_COMPLAINT_HOURS",
        step="Strafanzeige durch Amt 11",
        ask_subject="Meldung {ref}: Strafanzeige erstatten",
        ask_intro="die Meldung {ref} wurde von der/dem Vorgesetzten freigegeben.",
        todo=("Bitte erstatten Sie Strafanzeige bzw. stellen Sie Strafantrag oder erfassen Sie "
              "das Hausverbot, und tragen Sie Aktenzeichen bzw. Datum in beistand ein."),
        queue_title="Freigegeben – Strafanzeige erfassen bzw. abschließen",
        next_step="Die Personalverwaltung (Amt 11) erstattet Strafanzeige.",
        released=True),
    Status.COMPLAINT_FILED: StateFacts(
        responsible="zks", responsible_label="ZKS (Prüfung, Veröffentlichung)",
        responsible_phrase="die Zentrale Koordinierungsstelle (ZKS)",
        deadline_setting="REPORT_DEADLINE_ZKS_HOURS",
        step="Prüfung durch die ZKS",
        ask_subject="Meldung {ref}: bitte prüfen",
        ask_intro="für die Meldung {ref} hat die Personalverwaltung die Strafanzeige, den "
                  "Strafantrag oder das Hausverbot erfasst.",
        todo=("Bitte prüfen Sie die Meldung und veröffentlichen Sie sie im Register oder "
              "schließen Sie sie mit Begründung ab."),
        queue_title="Anzeige erfasst – prüfen und veröffentlichen oder abschließen",
        next_step="Die ZKS prüft die Meldung und entscheidet über einen Eintrag im Register.",
        released=True),
    Status.PUBLISHED: StateFacts(
        next_step="Die Person ist im Register eingetragen. Abfrageberechtigte werden vor "
                  "einem Kontakt gewarnt.",
        tone="success", released=True, final=True),
    Status.CLOSED: StateFacts(
        next_step="Die Meldung ist abgeschlossen.", tone="success", released=True, final=True),
}


def facts(state: str) -> StateFacts:
    """The facts of ``state`` (KeyError for a value that is no state)."""
    return STATES[state]


def states(**wanted) -> tuple[str, ...]:
    """The states whose facts have the given values, in table order, e.g.
    ``states(final=True)``; for use in queries (``status__in=states(released=True)``)."""
    return states_where(STATES, **wanted)


FINAL_STATES = frozenset(states(final=True))


def entry_threshold() -> int:
    return settings.REGISTER_ENTRY_THRESHOLD


# --- Who may act -----------------------------------------------------------------------------

def is_reporter(user, report) -> bool:
    employee = org.employee_of(user)
    return (employee is not None and employee.pk == report.reporter_id) or (
        report.created_by_id == getattr(user, "pk", None))


def is_supervisor(user, report) -> bool:
    """The direct supervisor of the reporter or of a victim — never the report's author, who
    does not release (or return) their own report, even as a supervisor (issue 16, finding 8)."""
    employee = org.employee_of(user)
    if employee is None or is_reporter(user, report):
        return False
    people = [report.reporter, *report.victims.all()]
    return any(org.direct_supervisor(person) == employee for person in people)


ACTORS = {
    "reporter": ("die meldende Person", is_reporter),
    "supervisor": ("die/der direkte Vorgesetzte der meldenden oder betroffenen Person (nicht "
                   "die meldende Person selbst)", is_supervisor),
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


# The conditions on the report alone that a database filter can express: a work queue shows
# the reports an actor can act on now (e.g. the ZKS may close a released report right away only
# without attack and below the entry threshold).
CONDITION_FILTERS = {
    "no_attack": lambda: Q(attack=False),
    "below_threshold": lambda: Q(hazard_level__lt=entry_threshold()),
    "at_threshold": lambda: Q(hazard_level__gte=entry_threshold()),
    "not_from_other_authority": lambda: Q(from_other_authority=False),
}


def open_to(actor: str) -> Q:
    """The reports ``actor`` has a transition for by the table, as a filter: the transition's
    state and its conditions that a filter can express (input and related-row conditions are
    checked on the attempt). Who among the actor's role may act (the direct supervisor) is
    not part of it."""
    q = Q(pk__in=[])
    for t in TRANSITIONS:
        if t.actor != actor:
            continue
        row = Q(status=t.state)
        for name in t.conditions:
            if name in CONDITION_FILTERS:
                row &= CONDITION_FILTERS[name]()
        q |= row
    return q


def allowed_actions(user, report) -> list[str]:
    """Actions the user may take now (role and state; conditions are checked on the attempt)."""
    actions = []
    for t in transitions_from(report.status):
        if t.action not in actions and actor_may(t, user, report):
            actions.append(t.action)
    return actions


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
    """Hours to act in ``state`` (read from the settings on every call), None without deadline."""
    name = STATES[state].deadline_setting
    return getattr(settings, name) if name else None
