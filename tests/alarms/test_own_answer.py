"""Answering on one device silences the same person's other devices by a server event
(issue 21, item 5): ``alarm_update`` ``own_answer`` goes to every connection of the person who
answered - and to nobody else - right after the ``response`` frame (docs/alarm-protocol.md)."""

import asyncio

import pytest

from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_answer_tells_all_connections_of_that_person_and_nobody_else(server, people,
                                                                      fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_sender) as sender, \
                Receiver(server.ws, t_neighbour) as pc1, \
                Receiver(server.ws, t_neighbour) as pc2:
            await asyncio.sleep(0.5)
            body = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                            {"template": "beistand"})).json()
            alarm_id = body["id"]
            await pc1.next_event(type="alarm", alarm_id=alarm_id)
            await pc2.next_event(type="alarm", alarm_id=alarm_id)
            await pc1.send({"type": "respond", "alarm_id": alarm_id, "response": "coming",
                            "request_id": "r1"})
            own = [await pc.next_event(type="alarm_update", kind="own_answer",
                                       alarm_id=alarm_id) for pc in (pc1, pc2)]
            response = await pc2.next_event(type="alarm_update", kind="response",
                                            alarm_id=alarm_id)
            await sender.next_event(type="alarm_update", kind="help_coming")
            await asyncio.to_thread(post, server, f"/api/v1/alarms/{alarm_id}/resolve",
                                    t_sender, {})
            await sender.next_event(type="alarm_update", kind="resolved")
            await pc2.next_event(type="alarm_update", kind="resolved")
            return own, response, sender.events

    own, response, sender_events = asyncio.run(scenario())
    for frame in own:
        assert frame["response"] == "coming" and frame["at"].endswith("Z")
    # stored after the response frame: a client has the responders list when it goes quiet
    assert response["event_id"] < own[1]["event_id"]
    assert not [e for e in sender_events if e.get("kind") == "own_answer"]
