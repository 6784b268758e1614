"""Issue 16, finding 16: device tokens received other people's personal data over the alarm
WebSocket (the sender's name and mobile number, responders' names, messages), contrary to
docs/security.md. A device bound to a room gets what the room needs: the alarm, its template,
state and place - no person's data."""

import asyncio

import pytest

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from tests.alarms.conftest import (  # noqa: F401
    Receiver,
    alarm_defaults,
    fast_plan,
    people,
    server,
    token,
)
from tests.alarms.helpers import post

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_room_device_gets_no_personal_data(server, people, fast_plan, token, make_user,  # noqa: F811
                                             org):
    admin = make_user("admin", roles=[Role.ADMIN])
    device_token, _ = accounts.create_device_token(admin, "Tischtelefon 1.02", "desk_phone",
                                                   room=org["rooms"][1])
    t_sender, t_nb = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, device_token) as device, \
                Receiver(server.ws, t_nb) as neighbour:
            alarm_id = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                                {"template": "beistand"})).json()["id"]
            alarm = await device.next_event(type="alarm", alarm_id=alarm_id)
            await neighbour.next_event(type="alarm", alarm_id=alarm_id)
            await asyncio.to_thread(post, server, f"/api/v1/alarms/{alarm_id}/respond", t_nb,
                                    {"response": "coming"})
            await asyncio.to_thread(post, server, f"/api/v1/alarms/{alarm_id}/messages", t_nb,
                                    {"text": "Bin gleich da, Frau Sender"})
            await device.next_event(type="message", alarm_id=alarm_id)
            return alarm, list(device.events), list(neighbour.events)

    alarm, device_events, neighbour_events = asyncio.run(scenario())
    # The person on the alarm sees who needs help ...
    assert "Erika" in str(neighbour_events) and "+49 170 1111111" in str(neighbour_events)
    # ... the room's device what the room needs, and nothing personal.
    assert alarm["template"]["code"] == "beistand" and alarm["location"]
    text = str(device_events)
    for personal in ("Erika", "Sender", "1111111", "0000", "Neighbour", "Bin gleich da"):
        assert personal not in text, (personal, text[:2000])
