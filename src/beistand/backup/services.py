"""Public face of backups: ``create_backup``, ``check_backup`` and ``restore_backup``.

An archive is one encrypted, authenticated stream (``beistand.backup.crypto``) around a tar
stream with:

* ``database.sqlite3`` or ``database.pgdump``: a consistent snapshot (``backup.database``);
* ``data/uploads/…``: the uploaded files (report attachments, the body's logo);
* ``data/secret_key``: the generated secret key, if the installation uses one;
* ``journal/deletions.log``: the deletion journal as it was (to seed a lost journal);
* ``manifest.json`` (last): format, versions, database vendor and migration state, the audit
  chain's head, ``created_at``, and the size and SHA-256 of every other member.

A restore decrypts the whole archive into a staging directory and checks every checksum
*before* it touches the target, refuses a non-empty target unless forced, restores the database
and the files, migrates, and re-applies every deletion made after the backup
(``backup.reapply``). See docs/backup.md.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import json
import os
import platform
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import django
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction
from django.utils import timezone

from beistand.alarms import services as alarms
from beistand.audit import services as audit
from beistand.backup import crypto, database, journal
from beistand.backup.crypto import ArchiveDamaged, BackupKeyError

__all__ = ["ArchiveDamaged", "BackupError", "BackupKeyError", "TargetNotEmpty", "check_backup",
           "create_backup", "restore_backup"]

FORMAT = 1
MANIFEST = "manifest.json"
UPLOADS = "data/uploads"
SECRET = "data/secret_key"
JOURNAL = "journal/deletions.log"


class BackupError(RuntimeError):
    """A backup or restore step failed (German message for the operator)."""


class TargetNotEmpty(BackupError):
    pass


def _key(key: str | None) -> str:
    return crypto.check_key(settings.BACKUP_KEY if key is None else key)


def local_time(iso: str) -> str:
    return f"{timezone.localtime(datetime.fromisoformat(iso)):%d.%m.%Y %H:%M:%S}"


def _version() -> str:
    try:
        return metadata.version("beistand")
    except metadata.PackageNotFoundError:
        return "unbekannt"


class _HashingReader:
    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size=-1):
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add(tar: tarfile.TarFile, path: Path, name: str, files: dict) -> None:
    info = tarfile.TarInfo(name)
    stat = path.stat()
    info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
    with path.open("rb") as handle:
        reader = _HashingReader(handle)
        tar.addfile(info, reader)
    files[name] = {"size": info.size, "sha256": reader.digest.hexdigest()}


def _upload_files(root: Path):
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, path.relative_to(root).as_posix()


@dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    manifest: dict

    def summary(self) -> str:
        m = self.manifest
        uploads = sum(1 for name in m["files"] if name.startswith(UPLOADS + "/"))
        return (f"Sicherung {self.path} geschrieben: {self.size / 1024 / 1024:.1f} MiB, "
                f"Datenbank {m['database']['vendor']} ({m['database']['size'] / 1024 / 1024:.1f}"
                f" MiB), {uploads} Datei(en), Audit-Kette bis #{m['audit_head'].get('seq', 0)}, "
                f"in {self.seconds:.1f} s.")


def create_backup(output: Path, key: str | None = None, *, stdout=None) -> BackupResult:
    """Write an encrypted backup of the database and the data directory to ``output``.

    The file appears under its name only when complete (written as ``.partial``, fsynced,
    renamed); an existing file is never overwritten.
    """
    key = _key(key)
    output = Path(output).resolve()
    if output.exists():
        raise BackupError(f"Die Datei {output} gibt es schon; sie wird nicht überschrieben.")
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    say = stdout.write if stdout is not None else (lambda text: None)
    with transaction.atomic():
        audit.record("backup.create", object_type="backup", object_repr=output.name,
                     actor=audit.Actor(user=None, label="backup"),
                     purpose="Datensicherung (Datenbank und Dateien)",
                     after={"file": str(output), "os_user": getpass.getuser()})
    created_at = datetime.now(UTC)
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(prefix=".beistand-backup-", dir=output.parent) as tmp:
        info, db_file = database.snapshot(Path(tmp))
        say(f"Datenbank-Schnappschuss ({info.vendor}) erstellt.")
        files: dict[str, dict] = {}
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw:
                writer = crypto.EncryptingWriter(raw, key)
                with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    _add(tar, db_file, info.file, files)
                    for path, rel in _upload_files(Path(settings.MEDIA_ROOT)):
                        _add(tar, path, f"{UPLOADS}/{rel}", files)
                    secret = settings.DATA_DIR / "secret_key"
                    if secret.is_file():
                        _add(tar, secret, SECRET, files)
                    if journal.journal_path().is_file():
                        _add(tar, journal.journal_path(), JOURNAL, files)
                    manifest = {
                        "format": FORMAT,
                        "created_at": created_at.isoformat(),
                        "beistand": _version(),
                        "django": django.get_version(),
                        "python": platform.python_version(),
                        "host": platform.node(),
                        "database": {"vendor": info.vendor, "file": info.file,
                                     "server_version": info.server_version,
                                     "tools": info.tools, **files[info.file]},
                        "migrations": info.migrations,
                        "audit_head": info.audit_head,
                        "files": {n: f for n, f in files.items() if n != info.file},
                    }
                    data = json.dumps(manifest, indent=1, sort_keys=True).encode()
                    entry = tarfile.TarInfo(MANIFEST)
                    entry.size, entry.mtime, entry.mode = len(data), int(time.time()), 0o600
                    tar.addfile(entry, io.BytesIO(data))
                writer.close()
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    result = BackupResult(output, output.stat().st_size, time.monotonic() - started, manifest)
    say(result.summary())
    return result


# --- Reading an archive --------------------------------------------------------------------------

def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _unpack(archive: Path, key: str, staging: Path) -> dict:
    """Decrypt and unpack everything into ``staging``; authenticate every chunk and check every
    checksum against the manifest. Raises before anything outside ``staging`` is touched."""
    with Path(archive).open("rb") as raw:
        reader = crypto.DecryptingReader(raw, key)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for member in tar:
                    if not (member.isfile() and _safe_name(member.name)):
                        raise ArchiveDamaged(f"Unerwarteter Eintrag „{member.name}“ in der "
                                             "Sicherung.")
                    tar.extract(member, staging, filter="data")
        except tarfile.TarError as exc:
            raise ArchiveDamaged(f"Die Sicherung ist beschädigt: {exc}") from None
        reader.drain()
    try:
        manifest = json.loads((staging / MANIFEST).read_text())
    except (OSError, ValueError):
        raise ArchiveDamaged("Das Manifest der Sicherung fehlt oder ist unlesbar.") from None
    if manifest.get("format") != FORMAT:
        raise ArchiveDamaged(f"Unbekanntes Sicherungsformat {manifest.get('format')!r}.")
    expected = {manifest["database"]["file"]: manifest["database"], **manifest["files"]}
    present = {p.relative_to(staging).as_posix() for p in staging.rglob("*") if p.is_file()}
    present.discard(MANIFEST)
    if present != set(expected):
        raise ArchiveDamaged("Die Sicherung enthält andere Dateien als ihr Manifest nennt.")
    for name, meta in expected.items():
        path = staging / name
        if path.stat().st_size != meta["size"] or _sha256(path) != meta["sha256"]:
            raise ArchiveDamaged(f"Prüfsumme von {name} stimmt nicht.")
    return manifest


def check_backup(archive: Path, key: str | None = None) -> dict:
    """Decrypt and verify an archive completely without restoring anything; the manifest."""
    key = _key(key)
    with tempfile.TemporaryDirectory(prefix=".beistand-check-") as tmp:
        return _unpack(Path(archive), key, Path(tmp))


# --- Restore -------------------------------------------------------------------------------------

def target_state() -> dict:
    """What is in the target now: database tables and uploaded files."""
    uploads = Path(settings.MEDIA_ROOT)
    files = sum(1 for _ in _upload_files(uploads))
    return {"tables": database.table_count(), "uploads": files,
            "database": database.describe(), "data_dir": str(settings.DATA_DIR)}


def _unknown_migrations(recorded: dict[str, list[str]]) -> list[str]:
    from django.db.migrations.loader import MigrationLoader

    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [f"{app}.{name}" for app, names in recorded.items() for name in names
            if (app, name) not in known]


@dataclass
class RestoreResult:
    manifest: dict
    seconds: float
    reapplied: object = None
    attachments_checked: int = 0
    attachments_bad: list[int] = field(default_factory=list)
    chain: object = None

    def summary(self) -> str:
        lines = [f"Sicherung vom {local_time(self.manifest['created_at'])} wiederhergestellt "
                 f"({self.manifest['database']['vendor']}) in {self.seconds:.1f} s."]
        if self.reapplied is not None:
            lines.append(self.reapplied.summary())
        lines.append(f"Anlagen geprüft: {self.attachments_checked}, davon fehlerhaft oder "
                     f"fehlend: {len(self.attachments_bad)}.")
        if self.chain is not None:
            lines.append(f"Audit-Kette gültig: {self.chain.checked} Zeilen geprüft."
                         if self.chain.ok else
                         f"Audit-Kette ungültig bei Zeile #{self.chain.bad_seq}: "
                         f"{self.chain.reason}")
        return "\n".join(lines)


def _check_attachments(result: RestoreResult) -> None:
    from beistand.reports.models import Attachment

    root = Path(settings.MEDIA_ROOT)
    for pk, name, sha in Attachment.objects.values_list("pk", "file", "sha256").iterator():
        result.attachments_checked += 1
        path = root / name
        if not path.is_file() or _sha256(path) != sha:
            result.attachments_bad.append(pk)


def restore_backup(archive: Path, key: str | None = None, *, force: bool = False,
                   stdout=None) -> RestoreResult:
    """Restore an archive into the configured database and data directory (see module doc)."""
    key = _key(key)
    started = time.monotonic()
    say = stdout.write if stdout is not None else (lambda text: None)
    archive = Path(archive).resolve()
    if not archive.is_file():
        raise BackupError(f"Die Datei {archive} gibt es nicht.")
    state = target_state()
    if not force and (state["tables"] or state["uploads"]):
        raise TargetNotEmpty(
            f"Das Ziel ist nicht leer ({state['database']}: {state['tables']} Tabellen; "
            f"{state['uploads']} hochgeladene Dateien in {settings.MEDIA_ROOT}). Eine "
            "Wiederherstellung überschreibt nur mit --force.")
    data_dir = Path(settings.DATA_DIR)
    with tempfile.TemporaryDirectory(prefix=".beistand-restore-", dir=data_dir) as tmp:
        staging = Path(tmp)
        manifest = _unpack(archive, key, staging)
        say(f"Sicherung vom {local_time(manifest['created_at'])} entschlüsselt und geprüft "
            f"({len(manifest['files'])} Datei(en)).")
        vendor = database.vendor()
        if manifest["database"]["vendor"] != vendor:
            raise BackupError(f"Die Sicherung ist eine {manifest['database']['vendor']}-"
                              f"Datenbank, das Ziel ist {vendor}: nicht unterstützt.")
        unknown = _unknown_migrations(manifest.get("migrations") or {})
        if unknown:
            raise BackupError("Die Sicherung stammt aus einer neueren beistand-Version "
                              f"(unbekannte Migrationen: {', '.join(unknown[:5])}). Bitte "
                              "zuerst beistand aktualisieren.")
        # From here on the target changes.
        database.restore(staging / manifest["database"]["file"])
        say(f"Datenbank wiederhergestellt ({database.describe()}).")
        uploads = Path(settings.MEDIA_ROOT)
        staged_uploads = staging / UPLOADS
        if uploads.exists():
            shutil.rmtree(uploads)
        if staged_uploads.is_dir():
            os.replace(staged_uploads, uploads)
        else:
            uploads.mkdir(parents=True, exist_ok=True)
        if (staging / SECRET).is_file():
            # The restoring process generated a fresh key at start-up; the backup's is the real.
            os.replace(staging / SECRET, data_dir / "secret_key")
            os.chmod(data_dir / "secret_key", 0o600)
            if not os.environ.get("BEISTAND_SECRET_KEY"):
                # ... and this process goes on with it: the re-applied deletions below chain
                # keyed digests (the access log's, docs/register.md) that a later `audit
                # verify` checks with the restored key.
                settings.SECRET_KEY = (data_dir / "secret_key").read_text().strip()
        live_journal = journal.journal_path()
        if (staging / JOURNAL).is_file() and not (live_journal.is_file()
                                                  and live_journal.stat().st_size):
            live_journal.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staging / JOURNAL, live_journal)
            os.chmod(live_journal, 0o600)
        say(f"Dateien wiederhergestellt ({sum(1 for _ in _upload_files(uploads))} Datei(en)).")
    connections.close_all()
    call_command("migrate", interactive=False, verbosity=0)
    # Alarm clients numbered their events in the live database: a new epoch per inbox makes
    # them reset instead of dropping new events as already seen (docs/alarm-protocol.md).
    alarms.renew_inbox_epochs()
    from beistand.backup.reapply import reapply_deletions

    entries, unreadable = journal.read()
    result = RestoreResult(manifest=manifest, seconds=0.0)
    result.reapplied = reapply_deletions(entries, unreadable)
    _check_attachments(result)
    with transaction.atomic():
        audit.record("backup.restore", object_type="backup", object_repr=archive.name,
                     actor=audit.Actor(user=None, label="restore"),
                     purpose="Wiederherstellung einer Datensicherung",
                     after={"created_at": manifest["created_at"],
                            "audit_head": manifest.get("audit_head"),
                            "persons_purged": len(result.reapplied.persons_purged),
                            "merges_repeated": len(result.reapplied.merges_repeated),
                            "lookups_deleted": result.reapplied.lookups_deleted,
                            "attachments_bad": len(result.attachments_bad)})
    result.chain = audit.verify_chain()
    result.seconds = time.monotonic() - started
    return result
