"""``beistand alarm test --room …``: a Probealarm for a room end to end, with a real server
running; the command runs in the test process against the same database."""

import asyncio
import io

import pytest
from django.core.management import CommandError, call_command

from beistand.alarms.models import Alarm, AlarmRecipient
from tests.alarms.conftest import Receiver

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args):
    out = io.StringIO()
    call_command("alarm", "test", *args, stdout=out)
    return out.getvalue()


def test_probealarm_for_a_room_reaches_its_plan_receivers(server, people, fast_plan, token):
    t_neighbour, t_sender = token(people["neighbour"]), token(people["sender"])

    async def scenario():
        async with Receiver(server.ws, t_neighbour) as nb, Receiver(server.ws, t_sender) as snd:
            await asyncio.sleep(0.5)  # presence is written in batches
            command = asyncio.create_task(asyncio.to_thread(
                run, "--room", "Rathaus/Hauptgebäude/1.02", "--wait", "15"))
            seen = []
            for receiver in (nb, snd):
                got = await receiver.next_event(type="alarm", timeout=10)
                assert got["role"] == "receiver" and got["template"]["code"] == "probealarm"
                assert got["template"]["test"] is True
                assert got["location"]["room"] == "1.02"
                assert "kein Ernstfall" in got["location"]["text"]
                assert got["sender"]["name"] == "Funktionstest (beistand alarm test)"
                seen.append(got["alarm_id"])
            output = await command
            for receiver in (nb, snd):  # the test ends itself: no window stays open
                await receiver.next_event(type="alarm_update", kind="resolved")
            return output, seen

    output, seen = asyncio.run(scenario())
    alarm = Alarm.objects.get()
    assert seen == [alarm.pk, alarm.pk]
    assert alarm.template.code == "probealarm" and alarm.source == "test"
    assert alarm.room.number == "1.02" and alarm.state == "resolved"
    assert f"Probealarm {alarm.pk}" in output
    assert "empfangen:       Test Neighbour" in output
    assert "empfangen:       Erika Sender" in output
    assert "2 von 2 Empfängern" in output
    assert AlarmRecipient.objects.filter(alarm=alarm, delivered_at__isnull=False).count() == 2


def test_nobody_receives_it_exits_1(server, people, fast_plan, org):
    room = org["rooms"][4]  # 1.05: its neighbours are offline
    with pytest.raises(CommandError) as failed:
        run("--room", str(room.pk), "--wait", "1")
    assert failed.value.returncode == 1
    assert "niemand" in str(failed.value)
    alarm = Alarm.objects.get()
    assert alarm.room == room and alarm.state == "resolved"
    assert not AlarmRecipient.objects.filter(alarm=alarm, delivered_at__isnull=False).exists()


def test_unknown_or_malformed_room(server, people, fast_plan):
    for ref in ("99999", "Rathaus/Hauptgebäude/9.99", "Rathaus/1.01", "//"):
        with pytest.raises(CommandError):
            run("--room", ref, "--wait", "0")
    assert not Alarm.objects.exists()
