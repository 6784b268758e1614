"""The inbox epoch: ``hello`` names the numbering of the receiver's events; a ``resume`` with
another epoch (a restored database, another inbox after re-pairing) or with a number ahead of
the server is answered with a ``reset`` frame, and a client following the documented rule (the
Receiver of tests/alarms/conftest.py) then gets the new events instead of dropping them as
already seen."""

import asyncio

import pytest
from django.db import transaction

from beistand.accounts.models import DeviceToken
from beistand.accounts.roles import Role
from beistand.accounts.services import create_device_token
from beistand.alarms import services
from beistand.alarms.models import Inbox, InboxEvent
from tests.alarms.conftest import Receiver
from tests.alarms.helpers import post, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def inbox(user):
    return Inbox.objects.get(user=user)


def test_after_a_restore_the_client_is_reset_and_misses_nothing(server, people, fast_plan,
                                                                  token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def before():
        async with Receiver(server.ws, t_neighbour) as nb:
            assert nb.hello["epoch"] and nb.epoch == nb.hello["epoch"]
            await asyncio.sleep(0.5)
            body = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                            {"template": "beistand"})).json()
            await nb.next_event(type="alarm", alarm_id=body["id"])
            for i in range(3):
                await asyncio.to_thread(post, server, f"/api/v1/alarms/{body['id']}/messages",
                                        t_sender, {"text": f"vor der Sicherung {i}"})
                await nb.next_event(type="message")
            # The first alarm ends here: its plan's escalations would otherwise add events to
            # the inbox at times of their own, and the numbers below would be a race.
            await asyncio.to_thread(post, server, f"/api/v1/alarms/{body['id']}/resolve",
                                    t_sender, {})
            await nb.next_event(type="alarm_update", kind="resolved", alarm_id=body["id"])
            await asyncio.to_thread(wait_for, lambda: inbox(people["neighbour"]).acked_seq
                                    == nb.last, what="receipts stored")
            return nb.last, nb.epoch

    seen, old_epoch = asyncio.run(before())
    assert seen >= 4

    # What a restore of a backup taken after the first event looks like to the inbox: the
    # later events and numbers are gone, and `beistand restore` renews the epochs.
    with transaction.atomic():
        box = inbox(people["neighbour"])
        InboxEvent.objects.filter(inbox=box, seq__gt=1).delete()
        Inbox.objects.filter(pk=box.pk).update(last_seq=1, acked_seq=1)
    assert services.renew_inbox_epochs() >= 2
    # New events after the restore reuse the numbers the client has already seen.
    new = post(server, "/api/v1/alarms", t_sender, {"template": "bedrohung"}).json()["id"]
    wait_for(lambda: inbox(people["neighbour"]).last_seq >= 2, what="new alarm stored")
    assert inbox(people["neighbour"]).last_seq <= seen

    async def after():
        async with Receiver(server.ws, t_neighbour, last_event_id=seen, epoch=old_epoch) as nb:
            assert nb.hello["epoch"] != old_epoch
            got = await nb.next_event(type="alarm", alarm_id=new)
            assert nb.resets == [{"type": "reset", "reason": "epoch", "epoch": nb.hello["epoch"],
                                  "last_event_id": nb.hello["last_event_id"],
                                  "resume_from": 1}]
            assert got["event_id"] == 2
            return nb.epoch

    assert asyncio.run(after()) != old_epoch


def test_a_resume_ahead_of_the_server_is_reset(server, people, fast_plan, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])
    alarm = post(server, "/api/v1/alarms", t_sender, {"template": "beistand"}).json()["id"]
    wait_for(lambda: Inbox.objects.filter(user=people["neighbour"], last_seq__gte=1).exists(),
             what="alarm stored")

    async def scenario():
        # A client without an epoch (an older client) that claims more than was ever stored.
        async with Receiver(server.ws, t_neighbour, last_event_id=10_000) as nb:
            got = await nb.next_event(type="alarm", alarm_id=alarm)
            assert [(r["reason"], r["resume_from"]) for r in nb.resets] == [("ahead", 0)]
            assert got["event_id"] == 1
        # The same client with the right epoch and a true number: no reset.
        async with Receiver(server.ws, t_neighbour, last_event_id=nb.last,
                            epoch=nb.epoch) as again:
            await again.send({"type": "ping"})
            await again.control(type="pong")
            assert again.resets == []

    asyncio.run(scenario())


def test_a_device_re_paired_to_another_person_is_reset(server, people, fast_plan, token,
                                                       make_user):
    admin = make_user("admin", roles=[Role.ADMIN])
    clear, device = create_device_token(admin, "PC 1.02", "workstation",
                                        user=people["neighbour"])
    t_sender = token(people["sender"])

    async def first():
        async with Receiver(server.ws, clear) as pc:
            await asyncio.sleep(0.5)
            alarm = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                             {"template": "beistand"})).json()["id"]
            await pc.next_event(type="alarm", alarm_id=alarm, timeout=15)
            await asyncio.to_thread(services.resolve, people["sender"], alarm, "")
            await pc.next_event(type="alarm_update", kind="resolved", timeout=15)
            return pc.last, pc.epoch

    seen, old_epoch = asyncio.run(first())
    assert seen >= 2
    # The administrator gives the workstation to the security service.
    DeviceToken.objects.filter(pk=device.pk).update(user=people["security"])

    async def second():
        async with Receiver(server.ws, clear, last_event_id=seen, epoch=old_epoch) as pc:
            await asyncio.sleep(0.5)
            alarm = (await asyncio.to_thread(post, server, "/api/v1/alarms", t_sender,
                                             {"template": "beistand"})).json()["id"]
            # Nobody near answers: the security service (tier 2) gets it, as event 1 of its
            # own numbering - a number the client had already seen under the old epoch.
            got = await pc.next_event(type="alarm", alarm_id=alarm, timeout=15)
            assert [r["reason"] for r in pc.resets] == ["epoch"]
            assert got["event_id"] <= seen
            return pc.hello["inbox"]

    assert asyncio.run(second()) == inbox(people["security"]).pk
