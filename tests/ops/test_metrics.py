"""/metrics: Prometheus text, protected by a bearer token or loopback, with alarm figures of the
database and of the serving process (connected clients per unit, delivery latency)."""

import asyncio
import re

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.alarms.conftest import Receiver


def samples(text: str) -> dict:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_only_from_loopback_without_token(client, db):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


def test_metrics_token_is_required_when_set(client, db, settings):
    settings.METRICS_TOKEN = "geheim-123"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer falsch",
                      REMOTE_ADDR="10.1.2.3").status_code == 403
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer geheim-123",
                          REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert "beistand_jobs_ready" in response.content.decode()


def test_database_figures(client, db, people):
    from django.utils import timezone

    from beistand.alarms import services
    from beistand.alarms.models import SmsMessage

    services.trigger(user=people["sender"], template="beistand", source="hotkey")
    now = timezone.now()
    SmsMessage.objects.create(direction="out", phone="+491", text="t", state="failed",
                              created_at=now, updated_at=now)
    values = samples(client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode())
    assert values[("beistand_alarms_triggered_total",
                   (("source", "hotkey"), ("template", "beistand")))] == 1
    assert values[("beistand_sms_messages", (("state", "failed"),))] == 1
    assert values[("beistand_sms_messages", (("state", "queued"),))] >= 0
    assert ("beistand_reports_overdue", ()) in values
    # The alarm's mails (if any) wait for the worker as ready jobs.
    assert values[("beistand_jobs_ready", ())] >= 0


@pytest.mark.django_db(transaction=True)
def test_connected_clients_and_delivery_latency_on_a_real_server(server, people, token):
    t_sender, t_neighbour = token(people["sender"]), token(people["neighbour"])

    async def scenario():
        async with Receiver(server.ws, t_neighbour) as neighbour, \
                Receiver(server.ws, t_sender):
            text = (await asyncio.to_thread(httpx.get, f"{server.http}/metrics",
                                            timeout=10)).text
            assert samples(text)[("beistand_alarm_clients_connected",
                                  (("unit", "32/1"),))] == 2
            await asyncio.sleep(0.5)  # presence is written in batches
            resp = await asyncio.to_thread(
                httpx.post, f"{server.http}/api/v1/alarms", json={"template": "beistand"},
                headers={"Authorization": f"Bearer {t_sender}"}, timeout=10)
            assert resp.status_code == 201, resp.text
            await neighbour.next_event(type="alarm")  # receipted by the test client
            for _ in range(50):  # receipts are recorded in batches (0.2 s)
                text = (await asyncio.to_thread(httpx.get, f"{server.http}/metrics",
                                                timeout=10)).text
                if samples(text).get(("beistand_alarm_delivery_seconds_count", ()), 0) >= 1:
                    break
                await asyncio.sleep(0.1)
            return text

    text = asyncio.run(scenario())
    values = samples(text)
    assert values[("beistand_alarm_delivery_seconds_count", ())] >= 1
    assert re.search(r'beistand_alarm_delivery_seconds_bucket\{le="\+Inf"\} [1-9]', text)
    # Names of persons never appear in metrics.
    assert "Erika" not in text and "Sender" not in text
