"""Health checks: ``/health/live`` (the process answers) and ``/health/ready`` (it can do its
work: database, its grants and the audit protections, worker heartbeat, alarm engine (alive and
not failing) and fan-out of this process, SMS gateway).

Each check returns ``(status, detail)`` with status ``ok``, ``fail`` or ``skipped`` (not
configured). Ready is 200 when no check failed, else 503. Details never contain personal data.
"""

import logging
import os
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

logger = logging.getLogger("beistand.ops")

SMS_CHECK_TIMEOUT = 3.0


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok", connection.vendor


def check_grants():
    """The database role of this process can do its work and the audit trail's protections are
    in place (triggers; on PostgreSQL the grants of deploy/postgres/grants.sql)."""
    from beistand.audit import protections

    problems = protections.own_privilege_problems() + protections.problems()
    if problems:
        return "fail", "; ".join(problems[:5])[:500]
    return "ok", f"{connection.vendor}: Rechte und Audit-Schutz vollständig"


def check_worker(now=None):
    from beistand.ops.models import WorkerHeartbeat

    now = now or timezone.now()
    last = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
    if last is None:
        return "fail", "kein Worker hat sich gemeldet (beistand worker läuft nicht?)"
    age = (now - last).total_seconds()
    if age > settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS:
        return "fail", f"letzter Worker-Herzschlag vor {int(age)} s"
    return "ok", f"letzter Worker-Herzschlag vor {max(0, int(age))} s"


def check_alarm_engine():
    from beistand.alarms import server
    from beistand.alarms.hub import HUB

    engine = server.engine()
    if engine is None:
        return "fail", "Alarm-Engine dieses Prozesses läuft nicht (uvicorn --lifespan on?)"
    dead = [t.get_name() for t in list(engine.tasks)
            if t.done() and t.get_name() != "alarm-listen"]
    if dead:
        return "fail", "beendete Hintergrundschleifen: " + ", ".join(sorted(dead))
    failing = dict(getattr(engine, "failing", {}))
    if failing:
        # A loop that keeps failing (missing grants, a broken table) logs and retries forever:
        # the process is not ready although every task is alive.
        return "fail", "fehlschlagende Hintergrundschleifen: " + ", ".join(
            f"{name} ({error})" for name, error in sorted(failing.items()))
    return "ok", f"{len(engine.tasks)} Hintergrundschleifen, {HUB.count()} Verbindungen"


def check_fanout():
    from beistand.alarms import fanout, server

    backend = fanout.backend()
    if backend == "inprocess":
        return "ok", "inprocess (ein Serverprozess)"
    engine = server.engine()
    if engine is None or not getattr(engine, "fanout_connected", False):
        return "fail", f"{backend}: Empfang (LISTEN/SUBSCRIBE) nicht verbunden"
    if backend == "postgres":
        # The server answers NOTIFY on our connection: the channel the engine listens to works.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", ["beistand_health", "ping"])
    return "ok", f"{backend}: Empfang verbunden"


def check_sms():
    provider = settings.SMS_PROVIDER
    if provider == "none":
        return "skipped", "kein SMS-Gateway konfiguriert"
    if provider == "gammu":
        outbox = Path(settings.SMS_GAMMU_OUTBOX)
        if outbox.is_dir() and os.access(outbox, os.W_OK):
            return "ok", "gammu: Outbox beschreibbar"
        return "fail", "gammu: Outbox fehlt oder ist nicht beschreibbar"
    if provider == "http":
        url = settings.SMS_HTTP_STATUS_URL or settings.SMS_HTTP_URL
        if not url:
            return "fail", "http: BEISTAND_SMS_HTTP_URL ist nicht gesetzt"
        return _reachable(url)
    return "fail", f"unbekannter SMS-Provider {provider!r}"


def _reachable(url: str):
    """Any HTTP answer below 500 means the gateway is up (it may refuse a bare GET)."""
    request = urllib.request.Request(url, method="GET")  # noqa: S310 (operator's configuration)
    if settings.SMS_HTTP_TOKEN:
        request.add_header("Authorization", f"Bearer {settings.SMS_HTTP_TOKEN}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=SMS_CHECK_TIMEOUT) as response:  # noqa: S310
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (OSError, ValueError) as exc:
        return "fail", f"http: Gateway nicht erreichbar ({type(exc).__name__})"
    ms = int((time.monotonic() - started) * 1000)
    if code >= 500:
        return "fail", f"http: Gateway antwortete {code}"
    return "ok", f"http: Gateway antwortete {code} in {ms} ms"


READY_CHECKS = {
    "database": check_database,
    "grants": check_grants,
    "worker": check_worker,
    "alarm_engine": check_alarm_engine,
    "alarm_fanout": check_fanout,
    "sms_gateway": check_sms,
}


def ready() -> tuple[bool, dict]:
    results = {}
    for name, check in READY_CHECKS.items():
        try:
            status, detail = check()
        except Exception as exc:
            logger.warning("Bereitschaftsprüfung %s fehlgeschlagen: %s", name,
                           type(exc).__name__)
            status, detail = "fail", f"Fehler: {type(exc).__name__}"
            if name == "database":
                # Everything else needs the database: do not pile up timeouts.
                results[name] = {"status": status, "detail": detail}
                break
        results[name] = {"status": status, "detail": detail}
    ok = all(r["status"] != "fail" for r in results.values()) and "database" in results \
        and results["database"]["status"] == "ok"
    return ok, results


def stale_after() -> timedelta:
    return timedelta(seconds=settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS)
