"""The alarm lifecycle table, whole: every state × every event. Allowed moves succeed and land
where the table says; every other pair is refused with a clear DomainError and changes nothing.
Then the services follow the table on real alarms."""

import itertools

import pytest

from beistand.alarms import lifecycle, services
from beistand.alarms.lifecycle import Event, State
from beistand.alarms.models import Alarm
from beistand.core.errors import Conflict, DomainError

EXPECTED = {
    (State.COUNTDOWN, Event.COUNTDOWN_END): State.TRIGGERED,
    (State.COUNTDOWN, Event.CANCEL): State.CANCELLED,
    (State.COUNTDOWN, Event.RESOLVE): State.RESOLVED,
    (State.TRIGGERED, Event.ACKNOWLEDGE): State.ACKNOWLEDGED,
    (State.TRIGGERED, Event.RESOLVE): State.RESOLVED,
    (State.ACKNOWLEDGED, Event.ACKNOWLEDGE): State.ACKNOWLEDGED,
    (State.ACKNOWLEDGED, Event.RESOLVE): State.RESOLVED,
}


@pytest.mark.parametrize(("state", "event"), list(itertools.product(State, Event)))
def test_every_state_and_event(state, event):
    alarm = Alarm(state=state)
    if (state, event) in EXPECTED:
        assert lifecycle.allows(state, event)
        assert lifecycle.move(alarm, event) == EXPECTED[(state, event)]
        assert alarm.state == EXPECTED[(state, event)]
    else:
        assert not lifecycle.allows(state, event)
        with pytest.raises(DomainError) as refused:
            lifecycle.move(alarm, event)
        assert isinstance(refused.value, Conflict) and refused.value.status == 409
        assert refused.value.detail == lifecycle.REFUSED[event]
        assert alarm.state == state


def test_table_is_the_expected_one_and_the_open_set_follows_from_it():
    assert lifecycle.MOVES == EXPECTED
    # Open states are exactly those from which some move leads on; final ones have none.
    assert {s for s, _ in lifecycle.MOVES} == lifecycle.OPEN
    assert {State.RESOLVED, State.CANCELLED} == lifecycle.FINAL
    assert all(Alarm(state=s).is_open == (s in lifecycle.OPEN) for s in State)
    assert lifecycle.initial(countdown=True) == State.COUNTDOWN
    assert lifecycle.initial(countdown=False) == State.TRIGGERED


def test_a_caller_may_word_the_refusal():
    alarm = Alarm(state=State.RESOLVED)
    with pytest.raises(Conflict, match="Bitte Entwarnung"):
        lifecycle.move(alarm, Event.CANCEL, refused="Bitte Entwarnung geben.")
    assert alarm.state == State.RESOLVED


@pytest.mark.django_db
def test_services_follow_the_table(people):
    sender, security = people["sender"], people["security"]
    counting = services.trigger(user=sender, template="beistand", countdown_s=10).alarm
    assert counting.state == State.COUNTDOWN
    with pytest.raises(Conflict):  # nobody can answer during the Vorlauf
        services.respond(security, counting.pk, "coming")
    assert services.cancel(sender, counting.pk).state == State.CANCELLED
    with pytest.raises(Conflict, match="abbrechen geht nur im Vorlauf"):
        services.cancel(sender, services.trigger(user=sender, template="beistand").alarm.pk)
    alarm = Alarm.objects.filter(sender_user=sender, state=State.TRIGGERED).get()
    services.respond(security, alarm.pk, "coming")
    alarm.refresh_from_db()
    assert alarm.state == State.ACKNOWLEDGED
    assert services.resolve(sender, alarm.pk).state == State.RESOLVED
    with pytest.raises(Conflict, match="nicht \\(mehr\\) aktiv"):
        services.respond(security, alarm.pk, "cannot")
    alarm.refresh_from_db()
    assert alarm.state == State.RESOLVED
