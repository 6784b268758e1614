"""Issue 19, item 9: a receiver that has just connected gets an alarm as fast as one connected
for hours - not only with the sweep. Two causes are covered: an event offered while the new
connection's first catch-up read ran was dropped until the sweep (hub), and presence was only
written in the bookkeeping batch, so other processes counted a fresh connection as offline."""

import asyncio

import pytest

from beistand.alarms import presence, store
from beistand.alarms.hub import Connection, Hub
from beistand.alarms.models import AlarmRecipient, Presence
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post, wait_for

PAYLOAD = '{"type": "alarm_update", "alarm_id": 9, "kind": "cancelled", "state": "cancelled"}'


class FakeDb:
    """The hub's database runner: records calls; the first catch-up read of the inbox returns
    nothing while the alarm is committed and pushed meanwhile (the race)."""

    def __init__(self, hub):
        self.hub = hub
        self.calls = []
        self.rows: list[store.Stored] = []

    async def __call__(self, fn, *args):
        self.calls.append((fn, args))
        if fn is store.events_after:
            inbox_id, after = args
            if len([c for c in self.calls if c[0] is store.events_after]) == 1:
                event = store.Stored(0, inbox_id, 1, PAYLOAD)
                self.rows.append(event)
                self.hub.push([event])  # offered while the read runs: not sent yet
                return []
            return [e for e in self.rows if e.seq > after]
        return None


def test_event_offered_during_the_first_catch_up_is_sent_without_the_sweep(settings):
    async def scenario():
        hub = Hub()
        db = FakeDb(hub)
        hub.attach(asyncio.get_running_loop(), db)
        sent = []

        async def send(message):
            sent.append(message["text"])

        conn = Connection(hub, send, 7)
        hub.add(conn)
        conn.resume(0)
        for _ in range(50):
            if sent:
                break
            await asyncio.sleep(0)
        return sent, db.calls

    sent, calls = asyncio.run(scenario())
    assert sent == ['{"event_id": 1, "type": "alarm_update", "alarm_id": 9, "kind": "cancelled", '
                    '"state": "cancelled"}']
    # The first connection of an inbox writes its presence at once, not with the next batch.
    assert (presence.write_presence, ({7: 1},)) in calls


@pytest.mark.django_db(transaction=True)
def test_a_receiver_connected_just_now_gets_the_alarm_without_the_sweep(settings, people,
                                                                        fast_plan, token):
    """With the sweep slowed to 60 s, a receiver that connects and at once sees an alarm
    raised gets it over its socket (and is recorded online, written to presence at once)."""
    from tests.alarms.conftest import ServerThread

    settings.ALARM_SWEEP_SECONDS = 60
    server = ServerThread().start()
    try:
        t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

        async def scenario():
            async with Receiver(server.ws, t_neighbour) as neighbour:
                inbox = neighbour.hello["inbox"]
                await asyncio.to_thread(wait_for, lambda: Presence.objects.filter(
                    inbox_id=inbox, connections=1).exists(), 5, 0.01, "presence written")
                resp = await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                               {"template": "beistand"})
                assert resp.status_code == 201, resp.text
                got = await neighbour.next_event(type="alarm", timeout=10)
                return resp.json()["id"], got

        alarm_id, got = asyncio.run(scenario())
        assert got["alarm_id"] == alarm_id
        assert AlarmRecipient.objects.get(alarm_id=alarm_id, label="Test Neighbour").online
    finally:
        server.stop()
