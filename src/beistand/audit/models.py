"""The append-only, hash-chained audit trail.

Each ``AuditEvent`` row stores the SHA-256 of its own content plus the previous row's hash, so
editing, deleting or re-ordering rows breaks the chain (``beistand audit verify``). ``AuditHead``
is the single row that holds the newest sequence number and hash; appending locks it, which
serialises writers and lets verification detect a truncated tail. Database triggers
(``protection.py``) refuse changing or deleting events and moving the head anywhere but one row
forward.
"""

from django.conf import settings
from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or delete an audit row through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Audit events cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    # Assigned by the recorder (head + 1) before insert, so that it is part of the hash.
    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_constraint=False,
    )
    # Who acted, as text: survives the user's later renaming and names system actors.
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True, db_index=True)
    object_id = models.CharField(max_length=64, blank=True, db_index=True)
    object_repr = models.CharField(max_length=300, blank=True)
    purpose = models.CharField(max_length=500, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    remote_addr = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = "Protokolleintrag"
        verbose_name_plural = "Protokolleinträge"
        default_permissions = ("view",)

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("Audit events cannot be updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Audit events cannot be deleted.")


class AuditHead(models.Model):
    """Exactly one row (pk=1): the newest sequence number and its hash."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "Protokollkopf"
        default_permissions = ()

    def __str__(self):
        return f"Kopf #{self.last_seq}"
