"""Signed checkpoints: the chain's head anchored outside the database (issue 16, finding 4).

A checkpoint is one JSON line ``{"v", "seq", "hash", "at", "key", "sig"}``: the head's sequence
number and hash, signed with an Ed25519 key read from ``AUDIT_SIGNING_KEY_FILE`` (never stored in
the database). ``write_checkpoint`` appends it to ``AUDIT_CHECKPOINT_FILE`` (a disk the data
protection officer keeps) and to the log. ``verify_checkpoints`` proves against such a file that
no row up to each checkpoint changed: the chain must verify and its row ``seq`` must still carry
the signed hash; since every row's hash covers its predecessor's, that fixes every row before.
The sequence number is also the count of rows (numbered from 1 without gaps), so a checkpoint
fixes both. A copy of each checkpoint goes to the system log (``AUDIT_CHECKPOINT_SYSLOG``), and
``verify_checkpoints`` reads such log lines as well as the file.
"""

import base64
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

from beistand.audit.models import AuditEvent, AuditHead

log = logging.getLogger("beistand.audit.checkpoint")

VERSION = 1


class CheckpointError(Exception):
    """A checkpoint file or key that cannot be used (German message for the operator)."""


def _message(seq: int, digest: str, at: str) -> bytes:
    return f"beistand-audit-checkpoint/{VERSION}\n{seq}\n{digest}\n{at}".encode()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def load_private_key(path: Path | None = None, *, create: bool = False) -> Ed25519PrivateKey:
    path = Path(path or settings.AUDIT_SIGNING_KEY_FILE)
    if not path.exists():
        if not create:
            raise CheckpointError(f"Signaturschlüssel {path} fehlt.")
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        return key
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"Signaturschlüssel {path} ist kein lesbarer PEM-Schlüssel.") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"Signaturschlüssel {path} ist kein Ed25519-Schlüssel.")
    return key


def public_key_text(key: Ed25519PrivateKey | None = None) -> str:
    """The public key as base64 of its 32 raw bytes (what the DPO keeps to check signatures)."""
    key = key or load_private_key(create=True)
    return _b64(key.public_key().public_bytes(serialization.Encoding.Raw,
                                              serialization.PublicFormat.Raw))


def _public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text.strip(), validate=True))
    except ValueError as exc:
        raise CheckpointError(
            "Öffentlicher Schlüssel ist kein Ed25519-Schlüssel (Base64).") from exc


def sign(seq: int, digest: str, *, key: Ed25519PrivateKey | None = None, at=None) -> dict:
    key = key or load_private_key(create=True)
    at = (at or timezone.now()).astimezone(UTC).isoformat()
    return {"v": VERSION, "seq": seq, "hash": digest, "at": at, "key": public_key_text(key),
            "sig": _b64(key.sign(_message(seq, digest, at)))}


def _last_line(path: Path) -> dict | None:
    if not path.exists():
        return None
    last = None
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                last = line
    try:
        return json.loads(last) if last else None
    except ValueError:
        return None


def write_checkpoint(path: Path | None = None, *, force: bool = False) -> dict | None:
    """Sign the current head and append it to the sink (None: the head did not move since the
    last checkpoint in that file, unless ``force``)."""
    path = Path(path or settings.AUDIT_CHECKPOINT_FILE)
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:
        raise CheckpointError("Kopfzeile der Kette fehlt.")
    last = _last_line(path)
    if not force and last and last.get("seq") == head.last_seq and \
            last.get("hash") == head.last_hash:
        return None
    checkpoint = sign(head.last_seq, head.last_hash)
    line = json.dumps(checkpoint, sort_keys=True, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    log.info("audit checkpoint %s", line)
    _to_syslog(line)
    return checkpoint


def _to_syslog(line: str) -> None:
    """A copy for the system log (``BEISTAND_AUDIT_CHECKPOINT_SYSLOG``): journald or a remote
    syslog keep it where the service user cannot rewrite it. A failure is logged, never fatal
    (the file copy was written)."""
    target = settings.AUDIT_CHECKPOINT_SYSLOG
    if not target:
        return
    from logging.handlers import SysLogHandler

    if target.startswith("/"):
        address: str | tuple[str, int] = target
    else:
        host, _, port = target.rpartition(":")
        address = (host.strip("[]"), int(port or 514))
    handler = None
    try:
        handler = SysLogHandler(address=address, facility=SysLogHandler.LOG_AUTH)
        handler.ident = "beistand-audit: "
        handler.append_nul = False
        record = logging.LogRecord("beistand.audit.checkpoint", logging.WARNING, __file__, 0,
                                   "audit checkpoint %s", (line,), None)
        handler.emit(record)
    except OSError as exc:
        log.error("Prüfpunkt nicht an Syslog %s übergeben: %s", target, exc)
    finally:
        if handler is not None:
            handler.close()


def anchor_problems() -> list[str]:
    """Where the anchor is within the service user's reach (German, for start-up and ``audit
    verify``): the signing key or the checkpoint file in the data directory, no system log
    copy."""
    out = []
    data_dir = Path(settings.DATA_DIR)
    if Path(settings.AUDIT_SIGNING_KEY_FILE).is_relative_to(data_dir):
        out.append("Der Signaturschlüssel der Prüfpunkte liegt im Datenverzeichnis "
                   "(BEISTAND_AUDIT_SIGNING_KEY_FILE)")
    if Path(settings.AUDIT_CHECKPOINT_FILE).is_relative_to(data_dir):
        out.append("Die Prüfpunktdatei liegt im Datenverzeichnis "
                   "(BEISTAND_AUDIT_CHECKPOINT_FILE)")
    if not settings.AUDIT_CHECKPOINT_SYSLOG:
        out.append("Keine Kopie der Prüfpunkte im Systemprotokoll "
                   "(BEISTAND_AUDIT_CHECKPOINT_SYSLOG)")
    return out


def _json_part(line: str) -> str:
    line = line.strip().strip("\x00").strip()
    if line.startswith("{"):
        return line
    marker = line.find("audit checkpoint {")
    return line[marker + len("audit checkpoint "):] if marker >= 0 else line


@dataclass(frozen=True)
class CheckpointResult:
    ok: bool
    checkpoints: int
    seq: int | None = None
    reason: str = ""


def verify_checkpoints(path: Path, *, public_key: str | None = None) -> CheckpointResult:
    """Check every checkpoint in ``path`` against the stored rows (not the chain's own links;
    ``verify_chain`` does that). ``public_key``: the base64 key the DPO keeps; default the
    public half of the configured signing key."""
    trusted_text = public_key.strip() if public_key else public_key_text(load_private_key())
    trusted = _public_key(trusted_text)
    try:
        # A checkpoint file, or lines of the system log / journal that carry checkpoints
        # ("... audit checkpoint {json}"): the JSON object of each line is what counts.
        lines = [_json_part(line) for line in Path(path).read_text(encoding="utf-8")
                 .splitlines() if line.strip()]
    except OSError as exc:
        raise CheckpointError(f"Prüfpunktdatei {path} ist nicht lesbar: {exc}") from exc
    if not lines:
        return CheckpointResult(False, 0, None, "Prüfpunktdatei enthält keinen Prüfpunkt")
    head = AuditHead.objects.filter(pk=1).first()
    head_seq = head.last_seq if head else 0
    for number, line in enumerate(lines, start=1):
        try:
            cp = json.loads(line)
            seq, digest, at = int(cp["seq"]), str(cp["hash"]), str(cp["at"])
            signature = base64.b64decode(cp["sig"], validate=True)
        except (ValueError, KeyError, TypeError):
            return CheckpointResult(False, number - 1, None,
                                    f"Prüfpunkt in Zeile {number} ist unlesbar")
        if cp.get("key") != trusted_text:
            return CheckpointResult(False, number - 1, seq,
                                    f"Prüfpunkt #{seq} ist mit einem fremden Schlüssel signiert")
        try:
            trusted.verify(signature, _message(seq, digest, at))
        except InvalidSignature:
            return CheckpointResult(False, number - 1, seq,
                                    f"Signatur des Prüfpunkts #{seq} ist ungültig")
        if seq == 0:
            continue
        if seq > head_seq:
            return CheckpointResult(False, number - 1, seq,
                                    f"Kette endet bei #{head_seq}, vor dem Prüfpunkt #{seq} "
                                    f"(Zeilen gelöscht oder Kette ersetzt)")
        stored = AuditEvent.objects.filter(seq=seq).values_list("hash", flat=True).first()
        if stored != digest:
            return CheckpointResult(False, number - 1, seq,
                                    f"Zeile #{seq} trägt nicht mehr den signierten Hash: die "
                                    f"Kette bis #{seq} wurde verändert")
    return CheckpointResult(True, len(lines), None, "")
