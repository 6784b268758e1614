"""Hashing of audit rows: the one definition shared by the recorder and the verifier."""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64

# The fields covered by a row's hash, in this order. Adding a field here invalidates old rows,
# so new fields must be appended with a chain version bump, never inserted.
HASHED_FIELDS = (
    "seq", "at", "actor_id", "actor_label", "action", "object_type", "object_id",
    "object_repr", "purpose", "before", "after", "remote_addr", "prev_hash",
)


def to_json_value(value):
    """Normalise a Python value to what a JSON column gives back (dates -> ISO strings, ...)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def row_hash(fields: dict) -> str:
    """SHA-256 over the canonical JSON of the hashed fields."""
    canonical = {name: fields[name] for name in HASHED_FIELDS}
    at = canonical["at"]
    canonical["at"] = at if isinstance(at, str) else at.isoformat()
    payload = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                         cls=DjangoJSONEncoder)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def event_fields(event) -> dict:
    """The hashed fields of a stored AuditEvent, as they were when it was hashed."""
    from datetime import UTC

    return {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_repr": event.object_repr,
        "purpose": event.purpose,
        "before": event.before,
        "after": event.after,
        "remote_addr": event.remote_addr,
        "prev_hash": event.prev_hash,
    }
