"""Public face of the audit app: record events, record model writes and reads, verify the chain.

Every record call must run inside the caller's ``transaction.atomic()`` block, so the audit row
commits or rolls back together with the action it describes. Calling it outside a transaction
is a programming error and raises ``AuditOutsideTransaction``.
"""

from dataclasses import dataclass
from datetime import UTC

from django.db import transaction
from django.utils import timezone

from beistand.audit.chain import GENESIS_HASH, event_fields, row_hash, to_json_value
from beistand.audit.context import Actor, acting_as, actor_for_user, current_actor
from beistand.audit.models import AuditEvent, AuditHead

__all__ = [
    "VERIFIED", "Actor", "AuditOutsideTransaction", "VerifyResult", "acting_as", "actor_for_user",
    "chained_payloads", "current_actor", "entry_count", "in_transaction", "last_verification",
    "record", "record_read", "register_content_check", "verify_and_record", "verify_chain",
    "verify_content",
]


class AuditOutsideTransaction(RuntimeError):
    pass


def _resolve_actor(actor) -> Actor:
    if actor is None:
        return current_actor()
    if isinstance(actor, Actor):
        return actor
    ctx = current_actor()
    return actor_for_user(actor, remote_addr=ctx.remote_addr)


def _object_ref(obj, object_type, object_id, object_repr):
    if obj is not None:
        meta = obj._meta
        object_type = object_type or f"{meta.app_label}.{meta.model_name}"
        object_id = object_id if object_id is not None else obj.pk
        object_repr = object_repr if object_repr is not None else str(obj)
    return object_type or "", "" if object_id is None else str(object_id), (object_repr or "")[:300]


def in_transaction() -> bool:
    """True inside an application atomic block (a test harness's wrapping block does not count,
    so tests see the same rule as production)."""
    connection = transaction.get_connection()
    return any(not block._from_testcase for block in connection.atomic_blocks)


def record(action: str, *, obj=None, object_type: str | None = None, object_id=None,
           object_repr: str | None = None, actor=None, purpose: str = "", before=None,
           after=None) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    if not in_transaction():
        raise AuditOutsideTransaction(
            f"audit.record({action!r}) must run inside transaction.atomic() with the action")
    who = _resolve_actor(actor)
    object_type, object_id, object_repr = _object_ref(obj, object_type, object_id, object_repr)
    # Locking the head serialises appends (PostgreSQL row lock; SQLite runs IMMEDIATE
    # transactions, which already hold the database write lock). Raw SQL for the head: this runs
    # for every audited action, and the ORM's per-call overhead was most of its cost.
    connection = transaction.get_connection()
    head_sql = "SELECT last_seq, last_hash FROM audit_audithead WHERE id = 1"
    if connection.features.has_select_for_update:
        head_sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        cursor.execute(head_sql)
        row = cursor.fetchone()
        if row is None:
            raise RuntimeError("audit chain head row is missing (run migrations)")
        last_seq, last_hash = row
        fields = {
            "seq": last_seq + 1,
            "at": timezone.now().astimezone(UTC),
            "actor_id": getattr(who.user, "pk", None),
            "actor_label": who.label[:200],
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "object_repr": object_repr,
            "purpose": (purpose or "")[:500],
            "before": to_json_value(before),
            "after": to_json_value(after),
            "remote_addr": who.remote_addr[:64],
            "prev_hash": last_hash,
        }
        digest = row_hash(fields)
        event = AuditEvent(hash=digest, **fields)
        event.save()
        cursor.execute("UPDATE audit_audithead SET last_seq = %s, last_hash = %s WHERE id = 1",
                       [event.seq, digest])
    return event


def record_read(obj, *, actor=None, purpose: str = "", fields: list[str] | None = None,
                action: str | None = None) -> AuditEvent:
    """Record that personal data of ``obj`` was shown to ``actor`` (and which fields)."""
    meta = obj._meta
    return record(action or f"{meta.app_label}.{meta.model_name}.read", obj=obj, actor=actor,
                  purpose=purpose, after={"fields": fields} if fields else None)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    bad_seq: int | None = None
    reason: str = ""


def verify_chain(chunk_size: int = 5000) -> VerifyResult:
    """Recompute every row's hash and link; report the first row that does not fit."""
    expected_seq = None
    prev_hash = GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if expected_seq is not None and event.seq != expected_seq:
            return VerifyResult(False, checked, event.seq,
                                f"Lücke in der Folge: erwartet #{expected_seq}, gefunden "
                                f"#{event.seq} (Zeile gelöscht oder eingefügt)")
        if event.prev_hash != prev_hash:
            return VerifyResult(False, checked, event.seq,
                                "Verkettung gebrochen: Vorgänger-Hash passt nicht "
                                "(Zeile davor geändert, gelöscht oder eingefügt)")
        if row_hash(event_fields(event)) != event.hash:
            return VerifyResult(False, checked, event.seq,
                                "Inhalt geändert: Hash der Zeile passt nicht zum Inhalt")
        prev_hash = event.hash
        expected_seq = event.seq + 1
        checked += 1
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:
        return VerifyResult(False, checked, None, "Kopfzeile der Kette fehlt")
    last_seq = (expected_seq - 1) if expected_seq is not None else 0
    if head.last_seq != last_seq or head.last_hash != prev_hash:
        return VerifyResult(False, checked, head.last_seq,
                            f"Ende der Kette passt nicht zum Kopf (Kopf #{head.last_seq}, "
                            f"letzte Zeile #{last_seq}): Zeilen am Ende gelöscht?")
    return VerifyResult(True, checked)


# --- Content kept outside the chain, fixed by digests inside it ---------------------------------

# Higher apps whose rows are fixed by a keyed digest chained into their audit event (the
# register's access log) register a check here: ``check() -> list[str]`` (German problem texts,
# empty when every row matches its chained digest). ``beistand audit verify`` runs them after the
# chain itself.
_content_checks: dict[str, object] = {}


def register_content_check(name: str, check) -> None:
    _content_checks[name] = check


def chained_payloads(actions: tuple[str, ...]):
    """``(action, object_id, after)`` of every event with one of ``actions``, oldest first (for
    the content checks of higher apps)."""
    return AuditEvent.objects.filter(action__in=actions).order_by("seq").values_list(
        "action", "object_id", "after").iterator(chunk_size=5000)


def verify_content() -> list[str]:
    problems = []
    for name, check in sorted(_content_checks.items()):
        problems += [f"{name}: {text}" for text in check()]
    return problems


# --- A person's check of the chain (the DPO's button on the start page) ------------------------

# The event that stores the result of a chain check started by a person.
VERIFIED = "audit.verified"


def entry_count() -> int:
    """How many events the chain holds."""
    head = AuditHead.objects.filter(pk=1).first()
    return head.last_seq if head else 0


def last_verification() -> AuditEvent | None:
    """The newest recorded result of ``verify_and_record`` (its ``after`` holds the result)."""
    return AuditEvent.objects.filter(action=VERIFIED).order_by("-seq").first()


def verify_and_record(actor) -> VerifyResult:
    """Check the whole chain and record the result in the chain itself, by ``actor``.

    The check runs outside a transaction (it can take a while on a large trail and must not hold
    the write lock); only the short append of its result is transactional. Who may start it is
    the caller's rule.
    """
    result = verify_chain()
    if result.ok:
        problems = verify_content()
        if problems:
            result = VerifyResult(False, result.checked, None, "; ".join(problems)[:1000])
    with transaction.atomic():
        record(VERIFIED, object_type="audit.chain", object_id="1", object_repr="Prüfprotokoll",
               actor=actor, after={"ok": result.ok, "checked": result.checked,
                                   "bad_seq": result.bad_seq, "reason": result.reason})
    return result
