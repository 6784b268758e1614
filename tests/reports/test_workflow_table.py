"""The whole transition table, walked: every row by its actor succeeds, every other role fails,
every action outside its state (final states included) is a 409 that changes nothing; plus the
two paths the issue names end to end."""

import itertools

import pytest

from beistand.core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from beistand.register.models import RegisterEntry
from beistand.reports import services, workflow
from beistand.reports.models import Report, Status, StatusChange
from tests.reports.conftest import ACTOR_USER, PATH, PAYLOAD, report_input

pytestmark = pytest.mark.django_db

def _walk(cast, row: workflow.Transition):
    offences = ("controversy",) if row.conditions and "no_attack" in row.conditions \
        else ("threat",)
    report = services.create_report(cast["melder"], report_input(offences=offences))
    for action in PATH[row.state]:
        actor = cast[ACTOR_USER[workflow.find(report.status, action)[0].actor]]
        services.transition(actor, report.pk, action, PAYLOAD.get(action, {}))
        report.refresh_from_db()
    assert report.status == row.state
    return report


@pytest.mark.parametrize("row", workflow.TRANSITIONS, ids=lambda t: f"{t.state}-{t.action}")
def test_each_row_succeeds_for_its_actor_only(cast, row):
    report = _walk(cast, row)
    history_before = StatusChange.objects.filter(report=report).count()
    for other, username in ACTOR_USER.items():
        if other == row.actor:
            continue
        user = cast[username]
        with pytest.raises((AccessDenied, NotFound)):
            services.transition(user, report.pk, row.action, PAYLOAD.get(row.action, {}))
    with pytest.raises((AccessDenied, NotFound)):
        services.transition(cast["fremd"], report.pk, row.action, PAYLOAD.get(row.action, {}))
    report.refresh_from_db()
    assert report.status == row.state
    assert StatusChange.objects.filter(report=report).count() == history_before

    services.transition(cast[ACTOR_USER[row.actor]], report.pk, row.action,
                        PAYLOAD.get(row.action, {}))
    report.refresh_from_db()
    assert report.status == row.next_state
    last = StatusChange.objects.filter(report=report).last()
    assert (last.action, last.from_status, last.to_status) == (row.action, row.state,
                                                               row.next_state)
    assert last.actor == cast[ACTOR_USER[row.actor]]


ALL_ACTIONS = sorted({t.action for t in workflow.TRANSITIONS})


@pytest.mark.parametrize("state,action", [
    (s, a) for s, a in itertools.product(PATH, ALL_ACTIONS)
    if not workflow.find(s, a)])
def test_actions_outside_their_state_are_conflicts(cast, state, action):
    row = workflow.Transition(state, "-", "reporter", state)
    report = _walk(cast, row)
    before = (report.status, report.due_at, report.updated_at,
              StatusChange.objects.filter(report=report).count())
    for username in ACTOR_USER.values():
        user = cast[username]
        try:
            services.transition(user, report.pk, action, PAYLOAD.get(action, {}))
        except NotFound:
            continue  # this user cannot even see the report in this state
        except Conflict as exc:
            assert action in exc.detail
            continue
        raise AssertionError(f"{action} in {state} by {username} did not fail")
    report.refresh_from_db()
    assert (report.status, report.due_at, report.updated_at,
            StatusChange.objects.filter(report=report).count()) == before


def test_level_2_report_goes_all_the_way_to_the_register(cast):
    report = services.create_report(cast["melder"], report_input(offences=("threat",)),
                                    submit=True)
    assert report.hazard_level == 2
    services.transition(cast["chefin"], report.pk, "release")
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"police_file_number": "KK11-2026-0815"})
    services.transition(cast["zks"], report.pk, "publish")
    report.refresh_from_db()
    assert report.status == Status.PUBLISHED
    entry = RegisterEntry.objects.get(report=report)
    assert entry.person.last_name == "Mustermann"
    assert entry.hazard_level == 2
    # No reporter data in the register.
    melder = cast["melder"].employee
    values = " ".join(str(v) for v in entry.person.__dict__.values())
    assert melder.last_name not in values


def test_level_1_insult_needs_a_complaint_and_can_never_be_published(cast):
    report = services.create_report(cast["melder"], report_input(offences=("insult",)),
                                    submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    # Zero tolerance: an attack below the threshold cannot be closed before the complaint.
    with pytest.raises(Conflict):
        services.transition(cast["zks"], report.pk, "close", {"reason": "Stufe 1"})
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"complaint_date": "2026-01-05"})
    with pytest.raises(Conflict) as exc:
        services.transition(cast["zks"], report.pk, "publish")
    assert "Eintragungsschwelle" in exc.value.detail
    services.transition(cast["zks"], report.pk, "close", {"reason": "Unter der Schwelle."})
    report.refresh_from_db()
    assert report.status == Status.CLOSED
    assert not RegisterEntry.objects.filter(report=report).exists()


def test_missing_input_names_the_field_and_changes_nothing(cast, submitted):
    report = submitted()
    with pytest.raises(InvalidInput) as exc:
        services.transition(cast["chefin"], report.pk, "return", {"comment": "  "})
    assert exc.value.field == "comment"
    services.transition(cast["chefin"], report.pk, "release")
    with pytest.raises(InvalidInput) as exc:
        services.transition(cast["personal"], report.pk, "file_complaint", {})
    assert exc.value.field == "police_file_number"
    assert Report.objects.get(pk=report.pk).status == Status.RELEASED


def test_publish_refused_for_knowledge_from_other_authority(cast):
    report = services.create_report(
        cast["melder"], report_input(from_other_authority=True), submit=True)
    services.transition(cast["chefin"], report.pk, "release")
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"house_ban_date": "2026-01-05"})
    with pytest.raises(Conflict) as exc:
        services.transition(cast["zks"], report.pk, "publish")
    assert "anderen Behörde" in exc.value.detail
