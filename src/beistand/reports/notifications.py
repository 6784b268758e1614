"""Who learns of a workflow step, and how (e-mail jobs enqueued in the step's transaction).

``services._do_transition`` calls ``on_transition`` inside its transaction, so a mail job
exists exactly when the step committed; ``beistand worker`` delivers it afterwards.

Mails never carry what the report says: no description, no perpetrator, no names of the
people involved. Only the file number, the hazard level, the step, the deadline and a link to
the case page, where the recipient's rights decide what they see.
"""

from django.conf import settings
from django.utils import timezone

from beistand.accounts.models import RoleGrant
from beistand.accounts.roles import Role
from beistand.notify import services as notify
from beistand.organisation import services as org
from beistand.organisation.models import Employee, OrgUnit
from beistand.reports import workflow
from beistand.reports.models import Report, Status, StatusChange

PERSONNEL_UNIT = "11"
ZKS_UNIT = "I/3"

# Reporter's status mail per action: (subject verb, first sentence, what happens next).
REPORTER_NEWS = {
    "submit": ("eingereicht", "ist eingegangen.",
               "Ihre Vorgesetzte/Ihr Vorgesetzter prüft sie nun und gibt sie frei."),
    "resubmit": ("erneut eingereicht", "ist erneut eingegangen.",
                 "Ihre Vorgesetzte/Ihr Vorgesetzter prüft sie nun und gibt sie frei."),
    "release": ("freigegeben", "wurde freigegeben.",
                "Die Personalverwaltung (Amt 11) kümmert sich nun um die Strafanzeige."),
    "file_complaint": ("an die ZKS weitergegeben",
                       "wurde von der Personalverwaltung bearbeitet.",
                       "Die Zentrale Koordinierungsstelle (ZKS) prüft sie nun abschließend."),
    "publish": ("abschließend bearbeitet",
                "wurde von der Zentralen Koordinierungsstelle abschließend bearbeitet.",
                "Weitere Schritte sind von Ihrer Seite nicht nötig. Vielen Dank, dass Sie den "
                "Vorfall gemeldet haben."),
    "close": ("abgeschlossen", "wurde abgeschlossen.",
              "Weitere Schritte sind von Ihrer Seite nicht nötig. Vielen Dank, dass Sie den "
              "Vorfall gemeldet haben."),
}


# --- Context and recipients (shared with deadlines.py) -----------------------------------------

def format_due(when) -> str:
    if when is None:
        return ""
    return timezone.localtime(when).strftime("%d.%m.%Y, %H:%M Uhr")


def case_link(report: Report) -> str:
    return f"{settings.BASE_URL.rstrip('/')}/meldungen/{report.pk}/"


def case_context(report: Report) -> dict:
    return {"reference": report.reference, "hazard_level": report.hazard_level,
            "step": report.get_status_display(), "due": format_due(report.due_at),
            "link": case_link(report)}


def addresses(people, role: str) -> tuple[list[str], list[str]]:
    """(e-mail addresses, descriptions of those without one) of ``people`` (Employees)."""
    to, missing = [], []
    for person in dict.fromkeys(p for p in people if p is not None):
        if person.email:
            to.append(person.email)
        else:
            missing.append(f"{role} {person.full_name} (Personalnr. {person.personnel_number}):"
                           " keine E-Mail-Adresse")
    return to, missing


def supervisors(report: Report) -> list[Employee]:
    """Direct supervisors of the reporter and of every victim (who may release)."""
    people = [report.reporter, *report.victims.all()]
    return list(dict.fromkeys(s for s in (org.direct_supervisor(p) for p in people) if s))


def personnel_staff() -> tuple[list[Employee], list[str]]:
    """Employees holding an active personnel-management grant, and accounts without record."""
    people, missing = [], []
    grants = (RoleGrant.objects.active().filter(role=Role.PERSONNEL, user__is_active=True)
              .select_related("user"))
    for grant in grants:
        employee = org.employee_of(grant.user)
        if employee is None or not employee.active:
            missing.append(f"Personalverwaltung {grant.user.get_username()}: kein "
                           "Beschäftigtendatensatz mit E-Mail-Adresse")
        else:
            people.append(employee)
    return people, missing


def unit_head(code: str) -> tuple[Employee | None, list[str]]:
    unit = OrgUnit.objects.filter(code=code).select_related("head").first()
    if unit is None or unit.head is None:
        return None, [f"Leitung der Einheit {code}: nicht hinterlegt"]
    return unit.head, []


def _supervisors_to(report: Report) -> tuple[list[str], list[str]]:
    people = supervisors(report)
    to, missing = addresses(people, "Vorgesetzte/r")
    if not people:
        missing.append("direkte/r Vorgesetzte/r: nicht hinterlegt")
    return to, missing


def _personnel_to(report: Report) -> tuple[list[str], list[str]]:
    people, missing = personnel_staff()
    to, more = addresses(people, "Personalverwaltung")
    if not people:
        missing.append("Personalverwaltung: niemand mit aktiver Rolle")
    return to, missing + more


# How each party that can be responsible for a state is reached by mail (the reporter of a
# returned report hears of it through the reporter's own status mail).
REACH = {"supervisor": _supervisors_to, "personnel": _personnel_to,
         "zks": lambda report: ([settings.ZKS_MAILBOX], [])}


def acting_recipients(report: Report) -> tuple[list[str], list[str]]:
    """Addresses of whoever must act on the report in its current state."""
    reach = REACH.get(workflow.facts(report.status).responsible)
    return reach(report) if reach else ([], [])


# Subjects stay short (< 70 characters): longer ones get folded, and Python's e-mail package
# then folds before the first word, which some clients show as a leading blank.
def _mail(to, subject, template, context, reason, missing=()):
    return notify.enqueue_mail(to, subject, template, context, reason=reason, missing=missing)


# --- The hook ----------------------------------------------------------------------------------

def on_transition(report, transition, actor) -> None:
    """Enqueue the notifications for ``transition`` (already applied to ``report``)."""
    ctx = case_context(report)
    ref = report.reference
    reason = f"report:{report.pk}:{transition.action}"
    state = transition.next_state

    facts = workflow.facts(state)
    if facts.ask_subject:
        to, missing = acting_recipients(report)
        _mail(to, facts.ask_subject.format(ref=ref), "report_to_act",
              {**ctx, "intro": facts.ask_intro.format(ref=ref), "todo": facts.todo},
              f"{reason}:{facts.responsible}", missing)
    if facts.zks_subject:
        _mail([settings.ZKS_MAILBOX], facts.zks_subject.format(ref=ref), "report_info",
              {**ctx, "intro": facts.zks_intro.format(ref=ref)}, f"{reason}:zks")

    # The reporter hears of every step; the return comment is addressed to them.
    to, missing = addresses([report.reporter], "Meldende/r")
    if state == Status.RETURNED:
        step = StatusChange.objects.filter(report=report).order_by("-pk").first()
        _mail(to, f"Ihre Meldung {ref} wurde zur Ergänzung zurückgegeben", "report_returned",
              {**ctx, "comment": step.comment if step else ""}, f"{reason}:reporter", missing)
        return
    verb, news, after = REPORTER_NEWS.get(
        transition.action, ("bearbeitet", "wurde bearbeitet.", ""))
    _mail(to, f"Ihre Meldung {ref} wurde {verb}", "report_status",
          {**ctx, "news": news, "next": after}, f"{reason}:reporter", missing)
