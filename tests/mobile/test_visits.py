"""The lone-worker timer over an explicit clock: running -> asked -> prealarm -> alarmed, answers
that reset it, idempotence of run_due, and the alarm it raises."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from beistand.alarms.models import Alarm, InboxEvent
from beistand.mobile import services, visits
from beistand.mobile.models import Visit

pytestmark = pytest.mark.django_db

POS = {"lat": 50.9401, "lon": 6.9550, "accuracy_m": 15}


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0)


def test_schedule_of_a_visit(people, t0, settings):
    settings.VISIT_CHECKIN_MINUTES = 5
    settings.VISIT_PREALARM_MINUTES = 2
    visit = services.start(people["sender"], address="Lindenweg 7, 12345 Teststadt",
                           minutes=30, position=POS, now=t0)
    assert visit.state == Visit.State.RUNNING
    assert visit.expected_end == t0 + timedelta(minutes=30)
    assert visit.checkin_at == t0 + timedelta(minutes=25)
    assert visit.prealarm_at == visit.expected_end
    assert visit.alarm_at == t0 + timedelta(minutes=32)
    assert visit.next_due == visit.checkin_at
    # A short visit is asked half-way through, not before it started.
    short = visits.schedule(t0 + timedelta(minutes=4), 4)
    assert short["checkin_at"] == t0 + timedelta(minutes=2)


def test_unanswered_visit_asks_prealarms_then_alarms_the_team(people, fast_plan, t0):
    sender = people["sender"]
    visit = services.start(sender, address="Lindenweg 7, 12345 Teststadt", minutes=30,
                           position=POS, now=t0)
    assert visits.run_due(t0 + timedelta(minutes=24)).asked == []
    run = visits.run_due(t0 + timedelta(minutes=25))
    assert run.asked == [visit.pk] and run.alarmed == []
    assert Visit.objects.get(pk=visit.pk).state == Visit.State.ASKED
    # Nothing twice.
    assert visits.run_due(t0 + timedelta(minutes=26)).asked == []
    run = visits.run_due(t0 + timedelta(minutes=30))
    assert run.prealarmed == [visit.pk]
    assert Visit.objects.get(pk=visit.pk).state == Visit.State.PREALARM
    assert not Alarm.objects.exists()  # the pre-alarm is for the person only
    run = visits.run_due(t0 + timedelta(minutes=32))
    assert run.alarmed == [visit.pk]
    visit.refresh_from_db()
    assert visit.state == Visit.State.ALARMED and visit.next_due is None
    alarm = visit.alarm
    assert alarm.sender_user == sender
    assert alarm.template.code == "bedrohung"
    assert alarm.source == "app"
    assert alarm.client_id == f"visit-{visit.pk}"
    assert alarm.location_text == "Zeitalarm Besuch: Lindenweg 7, 12345 Teststadt"
    assert (alarm.lat, alarm.lon) == (POS["lat"], POS["lon"])
    # The team got it (the neighbour is in tier 1 of the plan).
    events = [json.loads(e.payload) if isinstance(e.payload, str) else e.payload
              for e in InboxEvent.objects.filter(alarm=alarm, kind="alarm")]
    assert any(e["role"] == "receiver" for e in events)
    assert visits.run_due(t0 + timedelta(minutes=40)).alarmed == []
    assert Alarm.objects.count() == 1


def test_server_down_past_every_time_still_alarms(people, fast_plan, t0):
    visit = services.start(people["sender"], address="Am Markt 3", minutes=10, now=t0)
    run = visits.run_due(t0 + timedelta(hours=3))
    assert run.asked == [visit.pk] and run.prealarmed == [visit.pk]
    assert run.alarmed == [visit.pk]


def test_checkin_resets_the_timer_and_end_stops_it(people, t0):
    user = people["sender"]
    visit = services.start(user, address="Am Markt 3", minutes=20, now=t0)
    visits.run_due(t0 + timedelta(minutes=20))
    assert Visit.objects.get(pk=visit.pk).state == Visit.State.PREALARM
    visit = services.checkin(user, visit.pk, 15, now=t0 + timedelta(minutes=21))
    assert visit.state == Visit.State.RUNNING
    assert visit.expected_end == t0 + timedelta(minutes=36)
    assert visits.run_due(t0 + timedelta(minutes=23)) == visits.DueRun([], [], [])
    services.end(user, visit.pk, now=t0 + timedelta(minutes=25))
    assert visits.run_due(t0 + timedelta(hours=2)) == visits.DueRun([], [], [])
    assert Visit.objects.get(pk=visit.pk).state == Visit.State.ENDED
    assert services.current(user) is None


def test_one_open_visit_per_person_and_only_ones_own(people, t0):
    from beistand.core.errors import Conflict, NotFound

    visit = services.start(people["sender"], address="Am Markt 3", minutes=20, now=t0)
    with pytest.raises(Conflict):
        services.start(people["sender"], address="Am Markt 5", minutes=20, now=t0)
    with pytest.raises(NotFound):
        services.checkin(people["neighbour"], visit.pk, 10)
    with pytest.raises(NotFound):
        services.end(people["neighbour"], visit.pk)


def test_alarm_repeat_after_a_crash_returns_the_same_alarm(people, fast_plan, t0):
    """A process that claimed the alarm and died: the lease runs out, the retry finds the alarm
    by its client id instead of raising a second one."""
    from beistand.alarms import services as alarms

    visit = services.start(people["sender"], address="Am Markt 3", minutes=10, now=t0)
    visits.run_due(t0 + timedelta(minutes=10))
    first = alarms.trigger(user=people["sender"], template="bedrohung", source="app",
                           client_id=f"visit-{visit.pk}")  # as if raised before the crash
    visits.run_due(t0 + timedelta(minutes=12))
    visit.refresh_from_db()
    assert visit.alarm_id == first.alarm.pk
    assert Alarm.objects.count() == 1


def test_position_goes_to_the_running_alarm(people, fast_plan, t0):
    visit = services.start(people["sender"], address="Am Markt 3", minutes=10, now=t0)
    visits.run_due(t0 + timedelta(minutes=13))
    services.report_position(people["sender"], visit.pk, 50.95, 6.97, 8)
    visit.refresh_from_db()
    assert (visit.last_lat, visit.last_lon) == (50.95, 6.97)
    assert (visit.alarm.lat, visit.alarm.lon) == (50.95, 6.97)


def test_the_server_lane_runs_the_visit_timers(people, fast_plan, t0):
    from beistand.ops.scheduler import ServerLane

    visit = services.start(people["sender"], address="Am Markt 3", minutes=10, now=t0)
    ServerLane().scheduler.run("mobile.visit_timers", now=t0 + timedelta(minutes=13))
    visit.refresh_from_db()
    assert visit.state == Visit.State.ALARMED and visit.alarm is not None


def test_the_question_and_the_prealarm_reach_the_phone_by_web_push(people, t0, settings):
    """The person's subscribed phone gets the question and the pre-alarm as pushes of their
    own (no alarm attached), and a phone without a subscription nothing."""
    from beistand.alarms.webpush import PushMessage, PushSubscription

    settings.VAPID_PRIVATE_KEY = "x" * 43
    settings.VAPID_PUBLIC_KEY = "y" * 87
    sender = people["sender"]
    PushSubscription.objects.create(user=sender, endpoint="https://push.example/sender",
                                    p256dh="p", auth="a")
    PushSubscription.objects.create(user=people["neighbour"],
                                    endpoint="https://push.example/other", p256dh="p", auth="a")
    visit = services.start(sender, address="Lindenweg 7, 12345 Teststadt", minutes=30,
                           position=POS, now=t0)
    visits.run_due(t0 + timedelta(minutes=25))
    visits.run_due(t0 + timedelta(minutes=30))
    pushes = list(PushMessage.objects.order_by("pk"))
    assert [p.subscription.endpoint for p in pushes] == ["https://push.example/sender"] * 2
    payloads = [json.loads(p.payload) for p in pushes]
    assert [p["title"] for p in payloads] == ["Alles in Ordnung?", "Voralarm: Alles in Ordnung?"]
    assert all(p["type"] == "visit" and p["visit_id"] == visit.pk for p in payloads)
    assert all(p.alarm_id is None for p in pushes)
