"""Deadlines: a reminder to whoever must act before the deadline, escalation to the next level
after it; each once per state (idempotent), audited, with a fake clock."""

from datetime import timedelta

import pytest

from beistand.audit.models import AuditEvent
from beistand.notify.models import OutgoingMail
from beistand.ops.worker import BeistandWorker
from beistand.reports import deadlines, services
from beistand.reports.deadlines import check_deadlines
from beistand.reports.models import Report
from tests.notify import fixtures
from tests.reports.conftest import report_input

smtp, catalogue = fixtures.smtp, fixtures.catalogue

ZKS = "zks-postfach@teststadt.example"


@pytest.fixture
def heads(cast, make_user, settings):
    """Heads above the supervisor: Amt 32 (above 32/1), Amt 11, ZKS I/3."""
    settings.ZKS_MAILBOX = ZKS
    org = cast["org"]
    return {"amt32": make_user("amtsleitung32", unit=org["amt32"], head_of=org["amt32"]),
            "amt11": make_user("leitung11", unit=org["amt11"], head_of=org["amt11"]),
            "zks": make_user("leitungzks", unit=org["zks"], head_of=org["zks"])}


def mails(report, kind):
    return list(OutgoingMail.objects.filter(reason__startswith=f"report:{report.pk}:")
                .filter(reason__endswith=f":{kind}").order_by("pk"))


def fresh(report):
    return Report.objects.get(pk=report.pk)


@pytest.mark.django_db
def test_reminder_before_the_deadline_once(cast, heads, submitted, settings):
    settings.REPORT_REMINDER_HOURS_BEFORE = 4
    report = submitted()
    due = report.due_at
    assert check_deadlines(now=due - timedelta(hours=5)).reminded == []
    run = check_deadlines(now=due - timedelta(hours=3))
    assert run.reminded == [report.pk] and run.escalated == []
    [reminder] = mails(report, "reminder")
    assert reminder.to == ["chefin@teststadt.example"]
    assert reminder.subject == f"Erinnerung an die Frist: Meldung {report.reference}"
    assert "läuft bald ab" in reminder.body and "geben Sie sie frei" in reminder.body
    assert fresh(report).reminded_at is not None
    # Idempotent: a second run (or a second worker) sends nothing more.
    assert check_deadlines(now=due - timedelta(hours=2)).reminded == []
    assert len(mails(report, "reminder")) == 1
    # The flag was set by an audited write, attributed to the deadline check.
    event = AuditEvent.objects.filter(action="reports.report.update",
                                      object_id=str(report.pk)).latest("seq")
    assert "reminded_at" in event.after and event.actor_label == "system:fristen"


@pytest.mark.django_db
def test_escalation_after_the_deadline_goes_one_level_up(cast, heads, submitted):
    report = submitted()
    due = report.due_at
    check_deadlines(now=due - timedelta(hours=1))
    run = check_deadlines(now=due + timedelta(minutes=1))
    assert run.escalated == [report.pk] and run.reminded == []
    [escalation] = mails(report, "escalation")
    assert escalation.to == ["amtsleitung32@teststadt.example", ZKS]
    assert escalation.subject == (f"Eskalation: Frist für Meldung {report.reference} "
                                  "überschritten")
    assert "überschritten" in escalation.body and "die/der direkte Vorgesetzte" in escalation.body
    assert "Mustermann" not in escalation.body
    assert check_deadlines(now=due + timedelta(hours=5)).escalated == []
    assert len(mails(report, "escalation")) == 1
    assert report.pk in [r.pk for r in deadlines.overdue(now=due + timedelta(minutes=1))]


@pytest.mark.django_db
def test_overdue_without_earlier_reminder_gets_both(cast, heads, submitted):
    report = submitted()
    run = check_deadlines(now=report.due_at + timedelta(days=2))
    assert run.reminded == [report.pk] and run.escalated == [report.pk]
    [reminder] = mails(report, "reminder")
    assert reminder.subject.startswith("Frist abgelaufen") and "abgelaufen" in reminder.body


@pytest.mark.django_db
def test_released_reminds_personnel_and_escalates_to_head_of_11(cast, heads, submitted):
    report = submitted()
    check_deadlines(now=report.due_at + timedelta(minutes=1))  # the release step's cycle
    services.transition(cast["chefin"], report.pk, "release")
    report = fresh(report)
    assert report.reminded_at is None and report.escalated_at is None  # new state, new cycle
    check_deadlines(now=report.due_at - timedelta(hours=1))
    assert mails(report, "reminder")[-1].to == ["personal@teststadt.example"]
    check_deadlines(now=report.due_at + timedelta(minutes=1))
    assert mails(report, "escalation")[-1].to == ["leitung11@teststadt.example", ZKS]


@pytest.mark.django_db
def test_complaint_filed_reminds_zks_and_escalates_to_zks_head(cast, heads, submitted):
    report = submitted()
    services.transition(cast["chefin"], report.pk, "release")
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"police_file_number": "KK11-1"})
    report = fresh(report)
    check_deadlines(now=report.due_at + timedelta(minutes=1))
    assert mails(report, "reminder")[-1].to == [ZKS]
    assert mails(report, "escalation")[-1].to == ["leitungzks@teststadt.example"]


@pytest.mark.django_db
def test_missing_next_level_is_recorded_and_zks_still_told(cast, submitted, settings):
    settings.ZKS_MAILBOX = ZKS
    report = submitted()  # nobody heads Amt 32 in this organisation
    check_deadlines(now=report.due_at + timedelta(minutes=1))
    [escalation] = mails(report, "escalation")
    assert escalation.to == [ZKS]
    assert escalation.missing == ["Vorgesetzte/r von Test Chefin: nicht hinterlegt"]


@pytest.mark.django_db
def test_finished_and_draft_reports_have_no_deadline(cast, heads, submitted):
    report = submitted(offences=("insult",))
    services.transition(cast["chefin"], report.pk, "release")
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"police_file_number": "KK11-2"})
    services.transition(cast["zks"], report.pk, "close", {"reason": "unter der Schwelle"})
    draft = services.create_report(cast["melder"], report_input())
    run = check_deadlines(now=report.created_at + timedelta(days=30))
    assert report.pk not in run.reminded and draft.pk not in run.reminded
    assert run.escalated == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("catalogue")
def test_worker_delivers_reminders_and_escalations(cast, heads, submitted, smtp):
    report = submitted()
    worker = BeistandWorker(interval=0.1)
    worker.run_once()  # the submission's mails
    smtp.wait_for(3)
    worker.run_once(now=report.due_at + timedelta(minutes=5))
    smtp.wait_for(5)
    [reminder] = [m for m in smtp.to("chefin@teststadt.example") if "Frist" in m.subject]
    assert "Frist abgelaufen" in reminder.subject
    [escalation] = smtp.to("amtsleitung32@teststadt.example")
    assert ZKS in escalation.rcpt_tos
    assert f"/meldungen/{report.pk}/" in escalation.body
    worker.run_once(now=report.due_at + timedelta(minutes=10))
    assert len(smtp.messages) == 5
