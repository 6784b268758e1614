"""The inbox epoch in operation (issue 22, item 2): a real ``beistand backup`` and
``beistand restore`` into a fresh database give every inbox a new epoch, and a client that
resumes with the numbering of before is reset and then gets every new alarm; and
``beistand alarm reset-inbox`` resets one inbox's numbering while a client is connected:
audited, the client is closed with 4409, reconnects, is reset and misses nothing."""

import asyncio
import subprocess

import pytest
import websockets
from django.core.management import call_command

from beistand.alarms.models import Inbox
from beistand.audit.models import AuditEvent
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post, wait_for
from tests.alarms.server_process import ServerProcess
from tests.backup.conftest import BEISTAND, KEY, journal, target  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


def test_after_a_real_backup_and_restore_a_resuming_client_is_reset(people, fast_plan, token,
                                                                    target, tmp_path):  # noqa: F811
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])
    first = ServerProcess()
    archive = tmp_path / "sicherung.bak"
    try:
        first.start(timeout=90)
        async def before():
            async with Receiver(first.ws, t_neighbour) as nb:
                await asyncio.to_thread(wait_for, lambda: Inbox.objects.filter(
                    user=people["neighbour"]).exists(), what="inbox")
                alarm = (await asyncio.to_thread(post, first, "/api/v1/alarms", t_sender,
                                                 {"template": "beistand"})).json()["id"]
                await nb.next_event(type="alarm", alarm_id=alarm)
                # The backup (the operator's command) holds the first event only.
                made = await asyncio.to_thread(
                    subprocess.run, [BEISTAND, "backup", "--output", str(archive)],
                    env=dict(first.env, BEISTAND_BACKUP_KEY=KEY), capture_output=True,
                    text=True, timeout=120)
                assert made.returncode == 0, made.stdout + made.stderr
                for i in range(3):
                    await asyncio.to_thread(post, first, f"/api/v1/alarms/{alarm}/messages",
                                            t_sender, {"text": f"nach der Sicherung {i}"})
                    await nb.next_event(type="message")
                return nb.last, nb.epoch

        seen, old_epoch = asyncio.run(before())
    finally:
        first.stop()
    assert seen >= 4

    restored = target.run("restore", str(archive), "--yes")
    assert "Audit-Kette gültig" in restored.stdout, restored.stdout
    epochs = dict(target.rows("SELECT id, epoch FROM alarms_inbox"))
    assert epochs and old_epoch not in epochs.values()
    url = target.url or f"sqlite:///{target.data_dir / 'beistand.sqlite3'}"
    second = ServerProcess(DATABASE_URL=url, BEISTAND_DATA_DIR=str(target.data_dir),
                           BEISTAND_BACKUP_KEY=KEY,
                           BEISTAND_DELETION_JOURNAL=target.env["BEISTAND_DELETION_JOURNAL"])
    try:
        second.start(timeout=90)
        async def after():
            async with Receiver(second.ws, t_neighbour, last_event_id=seen,
                                epoch=old_epoch) as nb:
                await asyncio.sleep(0.5)  # presence written: the neighbour counts as online
                new = (await asyncio.to_thread(post, second, "/api/v1/alarms", t_sender,
                                               {"template": "bedrohung"})).json()["id"]
                got = await nb.next_event(type="alarm", alarm_id=new, timeout=15)
                return nb, got

        nb, got = asyncio.run(after())
    finally:
        second.stop()
    assert nb.hello["epoch"] != old_epoch
    assert [r["reason"] for r in nb.resets] == ["epoch"]
    # The restored inbox numbers the new alarm below what the client had seen: without the
    # reset it would have been dropped as a duplicate.
    assert got["event_id"] <= seen


def test_reset_inbox_command_resets_a_connected_client(server, people, fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_neighbour) as nb:
            await asyncio.sleep(0.5)
            first = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                             {"template": "beistand"})).json()["id"]
            await nb.next_event(type="alarm", alarm_id=first)
            await asyncio.to_thread(wait_for, lambda: Inbox.objects.get(
                user=people["neighbour"]).acked_seq == nb.last, what="receipt stored")
            await asyncio.to_thread(call_command, "alarm", "reset-inbox", "--user",
                                    people["neighbour"].get_username(), "--reason",
                                    "Gerät neu gekoppelt")
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await nb.recv(10)
            assert closed.value.rcvd.code == 4409
            seen, old_epoch = nb.last, nb.epoch
        async with Receiver(server.ws, t_neighbour, last_event_id=seen, epoch=old_epoch) as nb:
            await asyncio.sleep(0.5)
            second = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                              {"template": "bedrohung"})).json()["id"]
            got = await nb.next_event(type="alarm", alarm_id=second)
            return old_epoch, nb, got

    old_epoch, nb, got = asyncio.run(scenario())
    assert nb.hello["epoch"] != old_epoch
    assert [(r["reason"], r["epoch"]) for r in nb.resets] == [("epoch", nb.hello["epoch"])]
    assert got["event_id"] == nb.last
    event = AuditEvent.objects.get(action="alarms.inbox.reset")
    assert event.purpose == "Gerät neu gekoppelt"
    assert event.after["epoch"] == nb.hello["epoch"]


def test_reset_inbox_refuses_without_a_clear_target(people):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="gibt es nicht"):
        call_command("alarm", "reset-inbox", "--user", "niemand", "--reason", "Test")
