"""The issue's demo scenario with the demo accounts, against a real server process:
kollege1 raises an alarm through the API; melder (neighbouring room) gets it with name, room and
phone; nobody answers, so after the tier's timeout the security service (sicherheit) gets it,
answers "coming", and kollege1 is told "Hilfe kommt"."""

import asyncio
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from beistand.accounts.models import ApiToken
from beistand.accounts.tokens import USER_TOKEN_PREFIX, new_secret
from beistand.alarms.models import AlarmPlan
from beistand.demo.services import load_demo
from tests.alarms.conftest import Receiver
from tests.alarms.server_process import ServerProcess

pytestmark = pytest.mark.django_db(transaction=True)


def _token(username: str) -> str:
    clear, prefix, digest = new_secret(USER_TOKEN_PREFIX)
    with transaction.atomic():
        ApiToken.objects.create(user=get_user_model().objects.get(username=username),
                                prefix=prefix, token_hash=digest,
                                expires_at=timezone.now() + timedelta(hours=1))
    return clear


def test_demo_alarm_kollege1_melder_sicherheit():
    load_demo()
    with transaction.atomic():
        for tier in AlarmPlan.objects.get(site__name="Stadthaus").tiers.all():
            tier.timeout_s = 1
            tier.save()
    kollege1, melder, sicherheit = (_token(n) for n in ("kollege1", "melder", "sicherheit"))
    server = ServerProcess().start()
    try:
        async def scenario():
            async with Receiver(server.ws, kollege1) as sender, \
                    Receiver(server.ws, melder) as neighbour, \
                    Receiver(server.ws, sicherheit) as security:
                await asyncio.sleep(0.6)
                async with httpx.AsyncClient(timeout=10) as http:
                    resp = await http.post(f"{server.http}/api/v1/alarms",
                                           json={"template": "beistand", "source": "desktop"},
                                           headers={"Authorization": f"Bearer {kollege1}"})
                assert resp.status_code == 201, resp.text
                alarm_id = resp.json()["id"]
                got = await neighbour.next_event(type="alarm")
                assert got["alarm_id"] == alarm_id and got["tier"] == 1
                assert got["sender"]["name"] == "Deniz Arslan"
                assert got["sender"]["phone"] == "+49 1234 555-0172"
                assert got["sender"]["mobile"] == "+49 170 555-0172"
                assert (got["location"]["site"], got["location"]["building"],
                        got["location"]["room"]) == ("Stadthaus", "Haus A", "2.03")
                assert got["distance_m"] == 4  # melder sits in 2.05, 4 m along the corridor
                # Nobody answers: after 1 s the security service (tier 2) has it.
                sec = await security.next_event(type="alarm", timeout=8)
                assert sec["alarm_id"] == alarm_id and sec["tier"] == 2
                assert sec["sender"]["name"] == "Deniz Arslan"
                assert sec["location"]["room"] == "2.03"
                await security.send({"type": "respond", "alarm_id": alarm_id,
                                     "response": "coming"})
                coming = await sender.next_event(type="alarm_update", kind="help_coming")
                assert coming["text"] == "Hilfe kommt: Jens Becker"

        asyncio.run(scenario())
    finally:
        server.stop()
