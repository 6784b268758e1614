"""Two server processes on one database, one of them killed (SIGKILL) in the middle of an alarm:
nothing is lost.

1. The receivers are connected to B; the sender triggers through A and A dies right after its
   ``201`` – before its engine has delivered the alarm. B's engine finds the alarm's due tier-0
   deadline (``services.trigger`` stores it, ``services.advance`` runs it), delivers it to the
   receivers connected to B and escalates it when nobody answers.
2. The reverse: B, which holds the receivers' connections, dies. The receivers reconnect to A
   with their last ``event_id`` and get every alarm exactly once, in order, without a gap.

"Before A has delivered" is made certain, not left to a race: a database trigger makes storing
the neighbour's event fail until A is dead (A's delivery transaction rolls back, the deadline
stays due), then it is dropped. A second variant kills A plainly right after the 201: whoever
delivered, the receivers get the alarm exactly once.
"""

import asyncio

import httpx
import pytest
from django.db import connection

from beistand.alarms.models import Alarm, AlarmTier, AlarmTimeline, InboxEvent
from tests.alarms.conftest import Receiver
from tests.alarms.server_process import ServerProcess

pytestmark = pytest.mark.django_db(transaction=True)

GUARD = "beistand_test_block_delivery"


@pytest.fixture
def plan(fast_plan):
    """Neighbours 3 s → security 3 s → floor 3 s: long enough to see tier 1 alone first."""
    AlarmTier.objects.filter(plan=fast_plan).update(timeout_s=3)
    return fast_plan


def _block_inbox(inbox_id: int) -> None:
    """Storing any event for ``inbox_id`` fails (in every process) until ``_unblock``."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"CREATE TRIGGER {GUARD} BEFORE INSERT ON alarms_inboxevent "
                           f"WHEN NEW.inbox_id = {int(inbox_id)} "
                           "BEGIN SELECT RAISE(ABORT, 'delivery blocked by the test'); END")
        else:
            cursor.execute(f"CREATE FUNCTION {GUARD}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                           "BEGIN RAISE EXCEPTION 'delivery blocked by the test'; END $$")
            cursor.execute(f"CREATE TRIGGER {GUARD} BEFORE INSERT ON alarms_inboxevent "
                           f"FOR EACH ROW WHEN (NEW.inbox_id = {int(inbox_id)}) "
                           f"EXECUTE FUNCTION {GUARD}()")


def _unblock() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"DROP TRIGGER IF EXISTS {GUARD}")
        else:
            cursor.execute(f"DROP TRIGGER IF EXISTS {GUARD} ON alarms_inboxevent")
            cursor.execute(f"DROP FUNCTION IF EXISTS {GUARD}()")


def _trigger(server, token, client_id):
    resp = httpx.post(f"{server.http}/api/v1/alarms",
                      json={"template": "beistand", "client_id": client_id},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


def _alarm_events(receiver):
    return [e for e in receiver.events if e["type"] == "alarm"]


async def _drain(receiver):
    """Read whatever still arrives on a connection whose server was killed."""
    try:
        while True:
            await receiver.next_event(timeout=0.3)
    except Exception:
        pass


@pytest.fixture
def loop():
    """One event loop for the test's WebSocket clients; Django calls (the test's own database
    work) happen between its steps, never while it runs."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.close()


@pytest.mark.parametrize("when", ["before-delivery", "right-after-201"])
def test_sender_process_killed_after_201_the_other_process_delivers_and_escalates(
        people, plan, token, loop, when):
    t_sender, t_neighbour, t_security = (token(people[n])
                                         for n in ("sender", "neighbour", "security"))
    a, b = ServerProcess().start(), ServerProcess().start()
    try:
        neighbour = loop(Receiver(b.ws, t_neighbour).__aenter__())
        security = loop(Receiver(b.ws, t_security).__aenter__())
        loop(asyncio.sleep(0.8))  # B has written the presence: tier 1 is online
        if when == "before-delivery":
            _block_inbox(neighbour.hello["inbox"])
        try:
            alarm_id = _trigger(a, t_sender, "scale-a")
            if when == "before-delivery":
                loop(asyncio.sleep(0.3))  # A's engine tries (and fails) to deliver
            a.kill()
            if when == "before-delivery":
                # A died without having delivered anything to the receivers.
                assert not InboxEvent.objects.filter(alarm_id=alarm_id,
                                                     inbox_id=neighbour.hello["inbox"]).exists()
                assert Alarm.objects.get(pk=alarm_id).current_tier == 0
        finally:
            _unblock()
        got = loop(neighbour.next_event(type="alarm", timeout=10))
        assert got["alarm_id"] == alarm_id and got["tier"] == 1
        # Nobody answers: B escalates to the security service (tier 2).
        escalated = loop(security.next_event(type="alarm", timeout=15))
        assert escalated["alarm_id"] == alarm_id and escalated["tier"] == 2
        loop(neighbour.next_event(type="alarm_update", kind="escalated", timeout=5))
        loop(asyncio.sleep(1.0))  # anything repeated would arrive now
        loop(_drain(neighbour))
        loop(_drain(security))
        loop(neighbour.__aexit__())
        loop(security.__aexit__())
    finally:
        a.stop()
        b.stop()
        _unblock()
    assert [e["alarm_id"] for e in _alarm_events(neighbour)] == [alarm_id]
    assert [e["alarm_id"] for e in _alarm_events(security)] == [alarm_id]
    alarm = Alarm.objects.get(pk=alarm_id)
    assert alarm.current_tier >= 2
    # Each tier was alarmed once, although two engines looked at the alarm.
    notified = list(AlarmTimeline.objects.filter(alarm=alarm, kind="notified")
                    .values_list("text", flat=True))
    assert len(notified) == len(set(notified)), notified
    assert AlarmTimeline.objects.filter(alarm=alarm, kind="escalated").exists()


def test_receivers_process_killed_they_resume_on_the_other_exactly_once(people, plan, token,
                                                                        loop):
    t_sender, t_neighbour, t_security = (token(people[n])
                                         for n in ("sender", "neighbour", "security"))
    a, b = ServerProcess().start(), ServerProcess().start()
    ids = []
    try:
        neighbour_b = loop(Receiver(b.ws, t_neighbour).__aenter__())
        security_b = loop(Receiver(b.ws, t_security).__aenter__())
        loop(asyncio.sleep(0.8))
        ids.append(_trigger(a, t_sender, "scale-b-0"))
        loop(neighbour_b.next_event(type="alarm", timeout=10))
        loop(asyncio.sleep(0.4))  # its receipt is recorded
        # Two more alarms; B dies before the receivers have seen (all of) them.
        ids.append(_trigger(a, t_sender, "scale-b-1"))
        ids.append(_trigger(a, t_sender, "scale-b-2"))
        b.kill()
        loop(_drain(neighbour_b))
        loop(_drain(security_b))
        seen_neighbour = _alarm_events(neighbour_b)
        assert seen_neighbour and seen_neighbour[0]["alarm_id"] == ids[0]
        # One more alarm while the receivers are offline: it is stored for them.
        ids.append(_trigger(a, t_sender, "scale-b-3"))

        neighbour_a = loop(Receiver(a.ws, t_neighbour,
                                    last_event_id=neighbour_b.last).__aenter__())
        security_a = loop(Receiver(a.ws, t_security,
                                   last_event_id=security_b.last).__aenter__())
        for _ in range(len(ids) - len(seen_neighbour)):
            loop(neighbour_a.next_event(type="alarm", timeout=10))
        # The security service is tier 2: every alarm escalates to it, now on A.
        for _ in range(len(ids) - len(_alarm_events(security_b))):
            loop(security_a.next_event(type="alarm", timeout=15))
        loop(asyncio.sleep(1.5))  # duplicates or resends would arrive now
        loop(_drain(neighbour_a))
        loop(_drain(security_a))
        loop(neighbour_a.__aexit__())
        loop(security_a.__aexit__())
    finally:
        a.stop()
        b.stop()
    # Over both connections every alarm arrived exactly once and the event ids are gap-free
    # (Receiver also asserts each new event_id is the last + 1 and drops repeats).
    for before, after in ((neighbour_b, neighbour_a), (security_b, security_a)):
        alarms = [e["alarm_id"] for e in _alarm_events(before) + _alarm_events(after)]
        assert sorted(alarms) == sorted(ids), alarms
        event_ids = [e["event_id"] for e in before.events + after.events]
        assert event_ids == list(range(1, len(event_ids) + 1)), event_ids
