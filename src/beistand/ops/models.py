"""Operations: the worker's heartbeat, technical alerts to the administrators (one per
condition until it clears), and the results of the daily synthetic Probealarm."""

from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """``beistand worker`` writes its row every housekeeping round; ``/health/ready`` reads it."""

    worker_id = models.CharField(primary_key=True, max_length=64)
    host = models.CharField(max_length=100)
    pid = models.IntegerField()
    beat_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return self.worker_id


class TechnicalAlert(models.Model):
    """A technical condition the administrators were told about. ``cleared_at`` is empty while
    it lasts; a new alert for the same ``key`` is only raised after it cleared."""

    key = models.CharField("Bedingung", max_length=120, db_index=True)
    text = models.CharField("Meldung", max_length=500)
    raised_at = models.DateTimeField("gemeldet", default=timezone.now)
    last_seen_at = models.DateTimeField("zuletzt festgestellt", default=timezone.now)
    cleared_at = models.DateTimeField("behoben", null=True, blank=True)

    class Meta:
        verbose_name = "technische Warnung"
        verbose_name_plural = "technische Warnungen"
        ordering = ["-raised_at"]
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["key"], condition=models.Q(
            cleared_at__isnull=True), name="one_open_alert_per_key")]

    def __str__(self):
        return self.key


class ProbeRun(models.Model):
    """One synthetic Probealarm through the whole path (HTTP trigger, store, engine, push)."""

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    ok = models.BooleanField(default=False)
    alarm_id = models.BigIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = "Systemprüfung (Probealarm)"
        verbose_name_plural = "Systemprüfungen (Probealarm)"
        ordering = ["-started_at"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} {'ok' if self.ok else 'fehlgeschlagen'}"
