"""Deadlines of the report workflow: reminders before, escalation to the next level after.

``check_deadlines`` runs every minute in ``beistand worker``. It is idempotent: each report is
reminded once and escalated once per state (``reminded_at``/``escalated_at``, reset by every
transition), each decision taken under the report's row lock, so two workers never send twice.
The flags are set by ordinary (audited) model writes, in the same transaction as the mail jobs.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from beistand.audit import services as audit
from beistand.organisation import services as org
from beistand.reports import notifications as n
from beistand.reports import services, workflow
from beistand.reports.models import Report
from beistand.reports.workflow import FINAL_STATES

SYSTEM_ACTOR = audit.Actor(user=None, label="system:fristen")


@dataclass
class DeadlineRun:
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def _reminder_lead() -> timedelta:
    return timedelta(hours=settings.REPORT_REMINDER_HOURS_BEFORE)


def check_deadlines(now=None) -> DeadlineRun:
    """Send due reminders and escalations. Returns the report ids acted on."""
    now = now or timezone.now()
    run = DeadlineRun()
    candidates = (Report.objects.filter(due_at__isnull=False).exclude(status__in=FINAL_STATES)
                  .filter(Q(reminded_at__isnull=True, due_at__lte=now + _reminder_lead())
                          | Q(escalated_at__isnull=True, due_at__lte=now))
                  .order_by("due_at").values_list("pk", flat=True))
    with audit.acting_as(SYSTEM_ACTOR):
        for report_id in list(candidates):
            with transaction.atomic():
                report = Report.objects.select_for_update().get(pk=report_id)
                # Re-check under the lock: another worker or a transition may have got here.
                if report.due_at is None or report.status in FINAL_STATES:
                    continue
                changed = []
                if report.reminded_at is None and now >= report.due_at - _reminder_lead():
                    _remind(report, overdue=now >= report.due_at)
                    report.reminded_at = now
                    changed.append("reminded_at")
                    run.reminded.append(report.pk)
                if report.escalated_at is None and now >= report.due_at:
                    _escalate(report)
                    report.escalated_at = now
                    changed.append("escalated_at")
                    run.escalated.append(report.pk)
                if changed:
                    report.save(update_fields=changed)
    return run


def _remind(report: Report, overdue: bool) -> None:
    ctx = n.case_context(report)
    to, missing = n.acting_recipients(report)
    label = "Frist abgelaufen" if overdue else "Erinnerung an die Frist"
    n.notify.enqueue_mail(
        to, f"{label}: Meldung {report.reference}", "report_reminder",
        {**ctx, "overdue": overdue, "todo": workflow.facts(report.status).todo},
        reason=f"report:{report.pk}:{report.status}:reminder", missing=missing)


def _above_supervisors(report: Report) -> tuple[list[str], list[str]]:
    people, missing = [], []
    for supervisor in n.supervisors(report):
        above = org.direct_supervisor(supervisor)
        if above is None:
            missing.append(f"Vorgesetzte/r von {supervisor.full_name}: nicht hinterlegt")
        else:
            people.append(above)
    to, more = n.addresses(people, "Leitung")
    return [*to, settings.ZKS_MAILBOX], missing + more


def _above_personnel(report: Report) -> tuple[list[str], list[str]]:
    head, missing = n.unit_head(n.PERSONNEL_UNIT)
    to, more = n.addresses([head], "Leitung Amt 11")
    return [*to, settings.ZKS_MAILBOX], missing + more


def _above_zks(report: Report) -> tuple[list[str], list[str]]:
    head, missing = n.unit_head(n.ZKS_UNIT)
    to, more = n.addresses([head], "Leitung ZKS")
    return to, missing + more


# The next level above each party that can be responsible for a state with a deadline.
ABOVE = {"supervisor": _above_supervisors, "personnel": _above_personnel, "zks": _above_zks}


def escalation_recipients(report: Report) -> tuple[list[str], list[str]]:
    """The next level above whoever had to act: unit heads, ZKS lead, ZKS mailbox."""
    above = ABOVE.get(workflow.facts(report.status).responsible)
    return above(report) if above else ([], [])


def _escalate(report: Report) -> None:
    ctx = n.case_context(report)
    to, missing = escalation_recipients(report)
    n.notify.enqueue_mail(
        to, f"Eskalation: Frist für Meldung {report.reference} überschritten",
        "report_escalation",
        {**ctx, "due": f"{ctx['due']} (überschritten)",
         "responsible": workflow.facts(report.status).responsible_phrase
         or "die zuständige Stelle"},
        reason=f"report:{report.pk}:{report.status}:escalation", missing=missing)


def overdue(now=None):
    """Open reports past their deadline, oldest deadline first (the ZKS overdue view)."""
    return services.overdue_reports(now)
