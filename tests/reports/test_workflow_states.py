"""The per-state facts of the report workflow (``workflow.STATES``): the table is consistent with
the transition table, and what the rest of the code derives from it agrees with it — checked on
real reports brought into every state through the workflow itself."""

from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.core.errors import Conflict
from beistand.notify.models import OutgoingMail
from beistand.reports import attachments, deadlines, notifications, services, workflow
from beistand.reports.models import Report, Status
from beistand.stats import queries
from tests.reports.conftest import ACTOR_USER, PATH, PAYLOAD, report_input

# --- The table on its own ------------------------------------------------------------------

def test_every_state_has_exactly_one_row():
    assert set(workflow.STATES) == set(Status.values)
    assert set(PATH) == set(Status.values)


@pytest.mark.parametrize("state", list(workflow.STATES))
def test_facts_agree_with_the_transition_table(state):
    f = workflow.facts(state)
    out = workflow.transitions_from(state)
    actors = {t.actor for t in out}
    # Final exactly where no action leads out; nobody is responsible there, no deadline runs.
    assert f.final == (not out)
    if f.final:
        assert f.responsible is None and f.deadline_setting is None
        assert not f.reporter_edits and not f.reporter_attaches
    # Whoever is responsible can act in the state, and is named in lists and mails.
    if f.responsible is not None:
        assert f.responsible in workflow.ACTORS
        assert f.responsible in actors
        assert f.responsible_label and f.responsible_phrase and f.queue_title
    else:
        assert not (f.responsible_label or f.responsible_phrase or f.queue_title)
    # Those who must act are asked by mail (the reporter through their own status mail).
    assert bool(f.ask_subject) == bool(f.ask_intro) == (f.responsible not in (None, "reporter"))
    assert bool(f.zks_subject) == bool(f.zks_intro)
    assert not f.ask_subject or f.todo
    # A deadline is always somebody's, with a step and a to-do for the mails.
    if f.deadline_setting is not None:
        assert f.responsible is not None and f.step and f.todo
        assert isinstance(workflow.deadline_hours(state), int)
    else:
        assert workflow.deadline_hours(state) is None and not f.step and not f.todo
    # The reporter edits only where they can send the report on.
    if f.reporter_edits:
        assert actors == {"reporter"} and f.reporter_attaches
    # Released means shared; a report that is not shared is the author's alone.
    assert not f.released or f.shared
    assert f.next_step
    assert f.tone in ("info", "warning", "success")


def test_released_states_are_those_after_the_release():
    after = {Status.RELEASED}
    frontier = [Status.RELEASED]
    while frontier:
        for t in workflow.transitions_from(frontier.pop()):
            if t.next_state not in after:
                after.add(t.next_state)
                frontier.append(t.next_state)
    assert set(workflow.states(released=True)) == after


def test_only_the_draft_is_private_and_final_states_are_derived():
    assert workflow.states(shared=False) == (Status.DRAFT,)
    assert set(workflow.states(final=True)) == {Status.PUBLISHED, Status.CLOSED}
    assert frozenset(workflow.states(final=True)) == workflow.FINAL_STATES
    assert workflow.states(final=True, shared=False) == ()


def test_states_refuses_an_unknown_fact():
    with pytest.raises(TypeError):
        workflow.states(editable=True)


def test_lead_time_targets_add_up_the_state_deadlines(settings):
    settings.REPORT_DEADLINE_RELEASE_HOURS = 7
    settings.REPORT_DEADLINE_COMPLAINT_HOURS = 11
    settings.REPORT_DEADLINE_ZKS_HOURS = 13
    targets = {step.key: queries.deadline_hours(step) for step in queries.STEPS}
    assert targets == {"release": 7, "complaint": 11, "publication": 13, "total": 31}


# --- What the code derives, on real reports ----------------------------------------------------

def _report_in(cast, state) -> Report:
    report = services.create_report(cast["melder"], report_input(offences=("threat",)))
    for action in PATH[state]:
        actor = workflow.find(report.status, action)[0].actor
        services.transition(cast[ACTOR_USER[actor]], report.pk, action, PAYLOAD.get(action, {}))
        report.refresh_from_db()
    assert report.status == state
    return report


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(workflow.STATES))
def test_derived_facts_agree_with_the_table(cast, state, settings):
    settings.REPORT_DEADLINE_RELEASE_HOURS = 48
    settings.REPORT_DEADLINE_COMPLAINT_HOURS = 72
    settings.REPORT_DEADLINE_ZKS_HOURS = 96
    f = workflow.facts(state)
    before = timezone.now()
    report = _report_in(cast, state)
    reporter = cast["melder"]

    # The deadline set on entering the state.
    hours = workflow.deadline_hours(state)
    if hours is None:
        assert report.due_at is None
    else:
        assert before + timedelta(hours=hours) <= report.due_at
        assert report.due_at <= timezone.now() + timedelta(hours=hours)

    # Who sees it: the author always, the ZKS once shared, personnel management once released.
    def sees(name):
        return services.visible_reports(cast[name]).filter(pk=report.pk).exists()

    assert sees("melder")
    assert sees("zks") == f.shared
    assert sees("chefin") == f.shared
    assert sees("personal") == f.released
    assert not sees("fremd")

    # The work queue: the responsible party has it, nobody has a draft or a final case.
    for name in ("melder", "chefin", "personal"):
        in_queue = services.queue(cast[name]).filter(pk=report.pk).exists()
        assert in_queue == (f.responsible == {v: k for k, v in ACTOR_USER.items()}[name])
    if f.responsible is None:
        assert not services.queue(cast["zks"]).filter(pk=report.pk).exists()
    elif f.responsible == "zks":
        assert services.queue(cast["zks"]).filter(pk=report.pk).exists()
    elif any(t.actor == "zks" for t in workflow.transitions_from(state)):
        # Released, not yet the ZKS's turn: in its queue only where it may close at once
        # (no attack, below the entry threshold - the conditions of the table's row).
        report.refresh_from_db()
        may_close = not report.attack and report.hazard_level < workflow.entry_threshold()
        assert services.queue(cast["zks"]).filter(pk=report.pk).exists() == may_close

    # The reporter edits and attaches where the table says so.
    if f.reporter_edits:
        services.update_report(reporter, report.pk, report_input(offences=("threat",)))
    else:
        with pytest.raises(Conflict):
            services.update_report(reporter, report.pk, report_input(offences=("threat",)))
    reporter_acts = bool(services.allowed_actions(reporter, report))
    assert attachments.may_attach(reporter, report) == (
        not f.final and (f.reporter_attaches or reporter_acts))
    if f.final:
        assert not any(attachments.may_attach(cast[n], report) for n in ACTOR_USER.values())

    # Entering the state asked whoever must act, and told the ZKS where the table says so.
    if PATH[state]:
        ref = report.reference
        reason = f"report:{report.pk}:{PATH[state][-1]}"
        sent = set(OutgoingMail.objects.filter(reason__startswith=f"{reason}:")
                   .values_list("reason", "subject"))
        expected = set()
        if f.ask_subject:
            expected.add((f"{reason}:{f.responsible}", f.ask_subject.format(ref=ref)))
        if f.zks_subject:
            expected.add((f"{reason}:zks", f.zks_subject.format(ref=ref)))
        others = {(r, subject) for r, subject in sent if not r.endswith(":reporter")}
        assert others == expected

    # Mails go to whoever must act (or name who cannot be reached); escalation goes to the
    # level above them, which exists only where a deadline runs.
    assert any(deadlines.escalation_recipients(report)) == (f.deadline_setting is not None)
    assert any(notifications.acting_recipients(report)) == (
        f.responsible not in (None, "reporter"))


@pytest.mark.django_db
def test_reminder_and_escalation_use_the_states_texts(cast):
    report = _report_in(cast, Status.RELEASED)
    f = workflow.facts(Status.RELEASED)
    deadlines.check_deadlines(now=report.due_at + timedelta(minutes=1))
    reminder = OutgoingMail.objects.get(reason=f"report:{report.pk}:released:reminder")
    escalation = OutgoingMail.objects.get(reason=f"report:{report.pk}:released:escalation")
    assert " ".join(f.todo.split()) in " ".join(reminder.body.split())
    assert f.responsible_phrase in " ".join(escalation.body.split())


def test_victims_are_confirmed_only_while_the_supervisor_checks():
    assert workflow.states(victims_confirmable=True) == (Status.SUBMITTED,)

