"""Two server processes on one database: an alarm triggered through process A reaches a
receiver connected to process B, through each fan-out backend (PostgreSQL LISTEN/NOTIFY or the
in-process default backed by the sweep, and Redis PUBLISH)."""

import asyncio
import socket

import httpx
import pytest

from tests.alarms.conftest import Receiver
from tests.alarms.server_process import ServerProcess

pytestmark = pytest.mark.django_db(transaction=True)

REDIS = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("fanout", ["auto", "redis"])
def test_alarm_on_one_process_reaches_receiver_on_the_other(people, fast_plan, token, fanout):
    if fanout == "redis" and not _redis_up():
        pytest.skip("no Redis server on 127.0.0.1:6379")
    env = {"BEISTAND_ALARM_FANOUT": fanout}
    if fanout == "redis":
        env["REDIS_URL"] = REDIS
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])
    a, b = ServerProcess(**env).start(), ServerProcess(**env).start()
    try:
        async def scenario():
            async with Receiver(b.ws, t_neighbour) as neighbour:
                await asyncio.sleep(0.8)  # B has written the presence
                async with httpx.AsyncClient(timeout=10) as http:
                    resp = await http.post(f"{a.http}/api/v1/alarms",
                                           json={"template": "beistand"},
                                           headers={"Authorization": f"Bearer {t_sender}"})
                assert resp.status_code == 201, resp.text
                got = await neighbour.next_event(type="alarm", timeout=10)
                assert got["alarm_id"] == resp.json()["id"]
                # The answer given on B reaches the sender's client on A.
                async with Receiver(a.ws, t_sender) as sender:
                    await neighbour.send({"type": "respond", "alarm_id": got["alarm_id"],
                                          "response": "coming"})
                    coming = await sender.next_event(type="alarm_update", kind="help_coming",
                                                     timeout=10)
                    assert coming["text"] == "Hilfe kommt: Test Neighbour"

        asyncio.run(scenario())
    finally:
        a.stop()
        b.stop()
