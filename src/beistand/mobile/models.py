"""The lone-worker timer (Zeitalarm): a field visit with an expected end, answered by the phone or
escalated by the server. The state machine lives in ``beistand.mobile.visits``."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Visit(models.Model):
    class State(models.TextChoices):
        RUNNING = "running", "läuft"
        ASKED = "asked", "Rückfrage „Alles in Ordnung?“"
        PREALARM = "prealarm", "Voralarm"
        ALARMED = "alarmed", "Alarm ausgelöst"
        ENDED = "ended", "beendet"

    OPEN_STATES = (State.RUNNING, State.ASKED, State.PREALARM)

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="visits")
    address = models.CharField("Anschrift", max_length=200)
    note = models.CharField("Hinweis", max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    expected_end = models.DateTimeField("erwartetes Ende")
    # When the phone asks "Alles in Ordnung?", when the pre-alarm starts (= expected end) and
    # when the real alarm goes out. Stored, so any server process (or a restarted one) acts on
    # them; ``next_due`` is the earliest pending one (indexed, what ``run_due`` looks for).
    checkin_at = models.DateTimeField("Rückfrage um")
    prealarm_at = models.DateTimeField("Voralarm um")
    alarm_at = models.DateTimeField("Alarm um")
    next_due = models.DateTimeField(null=True, blank=True, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING,
                             db_index=True)
    last_lat = models.FloatField(null=True, blank=True)
    last_lon = models.FloatField(null=True, blank=True)
    last_accuracy_m = models.FloatField(null=True, blank=True)
    position_at = models.DateTimeField(null=True, blank=True)
    last_checkin_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    alarm = models.ForeignKey("alarms.Alarm", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    lookup_id = models.PositiveBigIntegerField("Registerabfrage", null=True, blank=True)

    class Meta:
        verbose_name = "Besuch (Zeitalarm)"
        verbose_name_plural = "Besuche (Zeitalarm)"
        ordering = ["-started_at"]
        default_permissions = ()

    def __str__(self):
        return f"Besuch {self.pk} ({self.get_state_display()})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES
