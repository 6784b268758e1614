"""/health/live and /health/ready: per-check JSON, 200 when every check passes, else 503."""

import httpx
import pytest

from beistand.ops import jobs as ops_jobs
from beistand.ops.models import WorkerHeartbeat
from tests.alarms.conftest import free_port


def test_live_answers_without_login(client, db):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_without_worker_and_engine_is_503_naming_the_checks(client, db):
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    checks = body["checks"]
    assert checks["database"]["status"] == "ok"
    assert checks["worker"]["status"] == "fail"
    # The test client has no ASGI lifespan: this process runs no alarm engine.
    assert checks["alarm_engine"]["status"] == "fail"
    assert checks["sms_gateway"]["status"] == "skipped"


def test_stale_worker_heartbeat_fails(client, db, settings):
    from datetime import timedelta

    from django.utils import timezone

    WorkerHeartbeat.objects.create(worker_id="w1", host="h", pid=1,
                                   beat_at=timezone.now() - timedelta(minutes=10))
    assert client.get("/health/ready").json()["checks"]["worker"]["status"] == "fail"
    ops_jobs.beat("w1")
    assert client.get("/health/ready").json()["checks"]["worker"]["status"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_ready_on_a_real_server_with_worker_and_sms_gateway(settings, gateway, tmp_path):
    from tests.alarms.conftest import ServerThread

    ops_jobs.beat("worker-test")
    settings.SMS_PROVIDER = "http"
    settings.SMS_HTTP_URL = gateway.url
    srv = ServerThread().start()
    try:
        response = httpx.get(f"{srv.http}/health/ready", timeout=10)
        assert response.status_code == 200, response.text
        checks = response.json()["checks"]
        assert {name: c["status"] for name, c in checks.items()} == {
            "database": "ok", "grants": "ok", "worker": "ok", "alarm_engine": "ok",
            "alarm_fanout": "ok",
            "sms_gateway": "ok"}
        assert ("GET", "/send") in gateway.calls

        gateway.status = 503  # the gateway answers, but is broken
        response = httpx.get(f"{srv.http}/health/ready", timeout=10)
        assert response.status_code == 503
        assert response.json()["checks"]["sms_gateway"]["status"] == "fail"

        settings.SMS_HTTP_URL = f"http://127.0.0.1:{free_port()}/send"  # nobody listens
        response = httpx.get(f"{srv.http}/health/ready", timeout=10)
        assert response.status_code == 503
        assert "nicht erreichbar" in response.json()["checks"]["sms_gateway"]["detail"]

        settings.SMS_PROVIDER = "gammu"
        settings.SMS_GAMMU_OUTBOX = str(tmp_path)
        assert httpx.get(f"{srv.http}/health/ready", timeout=10).status_code == 200
        settings.SMS_GAMMU_OUTBOX = str(tmp_path / "missing")
        assert httpx.get(f"{srv.http}/health/ready", timeout=10).status_code == 503
    finally:
        srv.stop()
