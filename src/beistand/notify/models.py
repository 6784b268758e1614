"""The outbox: one row per e-mail beistand wants to send, with its delivery state.

The row is written in the transaction of the action that causes the mail, so a mail exists
exactly when the action committed; it is sent by the worker through the outbox mechanism
(``beistand.notify.outbox``). The row stays after sending: it is how the administration sees
what went out, what is still being retried and what failed for good (``status``, ``attempts``,
``last_error``).
"""

from django.db import models


class OutgoingMail(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "wird zugestellt"
        SENDING = "sending", "wird gerade gesendet"
        SENT = "sent", "versendet"
        FAILED = "failed", "endgültig fehlgeschlagen"
        SKIPPED = "skipped", "keine Empfängeradresse"

    status = models.CharField("Status", max_length=10, choices=State.choices,
                              default=State.PENDING, db_index=True)
    # Why the mail exists, e.g. "report:42:submitted:supervisor"; for the admin and for tests.
    reason = models.CharField("Anlass", max_length=200, db_index=True)
    to = models.JSONField("Empfänger", default=list)
    # Intended recipients that could not be addressed (no e-mail address on file).
    missing = models.JSONField("nicht erreichbar", default=list, blank=True)
    subject = models.CharField("Betreff", max_length=250)
    body = models.TextField("Text")
    html = models.TextField("HTML", blank=True)
    attempts = models.PositiveSmallIntegerField("Zustellversuche", default=0)
    last_error = models.TextField("letzter Fehler", blank=True)
    created_at = models.DateTimeField("erstellt", auto_now_add=True)
    # Stamped when a worker claims the mail (the claim's lease counts from it).
    last_attempt_at = models.DateTimeField("letzter Versuch", null=True, blank=True)
    next_attempt_at = models.DateTimeField("nächster Versuch", null=True, blank=True,
                                           db_index=True)
    sent_at = models.DateTimeField("versendet", null=True, blank=True)

    class Meta:
        verbose_name = "ausgehende E-Mail"
        verbose_name_plural = "ausgehende E-Mails"
        ordering = ["-created_at", "-pk"]
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.subject} → {', '.join(self.to) or '–'} ({self.get_status_display()})"
