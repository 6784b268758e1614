"""Prometheus metrics at ``/metrics``.

Two kinds: figures read from the database at scrape time (the same from every process: alarms
triggered, overdue report cases, job queue, SMS, open technical alerts), and figures of this
process (connected alarm clients per unit, delivery latency). The delivery latency histogram is
the alarm app's (``alarms.metrics``); it is only registered here. Scrape every web process on its
own port (``127.0.0.1:8001``, ``:8002``) so the per-process figures are complete.
"""

import logging

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from beistand.alarms import metrics as alarm_metrics

logger = logging.getLogger("beistand.ops")

# Collectors without describe(): registering them must not query the database at import.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

class DatabaseCollector:
    def collect(self):
        from django.db.models import Count
        from django.utils import timezone

        from beistand.alarms.models import Alarm, SmsMessage
        from beistand.notify.models import OutgoingMail
        from beistand.ops.models import ProbeRun, TechnicalAlert, WorkerHeartbeat
        from beistand.reports.models import Report
        from beistand.reports.workflow import FINAL_STATES

        now = timezone.now()
        alarms = CounterMetricFamily("beistand_alarms_triggered",
                                     "Alarms triggered (stored), by template and source.",
                                     labels=["template", "source"])
        for code, source, n in (Alarm.objects.values_list("template__code", "source")
                                .annotate(n=Count("id")).order_by()):
            alarms.add_metric([code, source], n)
        yield alarms
        yield GaugeMetricFamily(
            "beistand_reports_overdue", "Open report cases past their step's deadline.",
            value=Report.objects.filter(due_at__lt=now).exclude(status__in=FINAL_STATES).count())
        yield GaugeMetricFamily("beistand_jobs_ready",
                                "E-mails due in the outbox and waiting for the worker.",
                                value=OutgoingMail.objects.filter(
                                    status=OutgoingMail.State.PENDING,
                                    next_attempt_at__lte=now).count())
        sms = GaugeMetricFamily("beistand_sms_messages", "Outgoing SMS by state.",
                                labels=["state"])
        counts = dict(SmsMessage.objects.filter(direction=SmsMessage.Direction.OUT)
                      .values_list("state").annotate(n=Count("id")).order_by())
        for state in SmsMessage.State.values:
            if state not in (SmsMessage.State.RECEIVED, SmsMessage.State.REJECTED):
                sms.add_metric([state], counts.get(state, 0))
        yield sms
        yield GaugeMetricFamily("beistand_technical_alerts_open",
                                "Technical alerts to the administrators not yet cleared.",
                                value=TechnicalAlert.objects.filter(cleared_at__isnull=True)
                                .count())
        beat = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at",
                                                                       flat=True).first()
        if beat is not None:
            yield GaugeMetricFamily("beistand_worker_heartbeat_age_seconds",
                                    "Seconds since the last worker heartbeat.",
                                    value=max(0.0, (now - beat).total_seconds()))
        probe = ProbeRun.objects.filter(ok=True).values_list("started_at", flat=True).first()
        if probe is not None:
            yield GaugeMetricFamily("beistand_probe_last_success_timestamp_seconds",
                                    "Unix time of the last successful synthetic Probealarm.",
                                    value=probe.timestamp())


class HubCollector:
    """Connected alarm clients of this process, per unit (code) of the person connected."""

    def collect(self):
        from beistand.alarms import runtime
        from beistand.alarms.hub import HUB
        from beistand.organisation.models import Employee

        gauge = GaugeMetricFamily("beistand_alarm_clients_connected",
                                  "Alarm WebSocket connections of this process, by unit.",
                                  labels=["unit"])
        conns = list(HUB.connections()) if runtime.running() else []
        users = {c.user_id for c in conns if c.user_id}
        unit_of = dict(Employee.objects.filter(user_id__in=users)
                       .values_list("user_id", "unit__code")) if users else {}
        per_unit: dict[str, int] = {}
        for conn in conns:
            unit = (unit_of.get(conn.user_id) or "ohne Einheit") if conn.user_id else "Raumgerät"
            per_unit[unit] = per_unit.get(unit, 0) + 1
        for unit, n in sorted(per_unit.items()):
            gauge.add_metric([unit], n)
        yield gauge


REGISTRY.register(alarm_metrics.DELIVERY_SECONDS)
REGISTRY.register(DatabaseCollector())
REGISTRY.register(HubCollector())


def render() -> bytes:
    return generate_latest(REGISTRY)
