"""Attachments of a report: photos and PDFs, checked by content, stored outside the web root.

Who may add one: the reporter while the report is a draft, returned or submitted (evidence often
comes in right after the report), and whoever has the next workflow step on an open case (the
supervisor while it waits for release, personnel management while the complaint is due, the ZKS
while it checks) — e.g. a copy of the criminal complaint. Everybody who may see the report may
download its attachments; every download is an audited read.

The type is taken from the file's first bytes, never from the client's name or content type.
Files live under MEDIA_ROOT (below the data directory, never served by a URL); the stored name is
a random one, the original name is kept only for the download.
"""

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction

from beistand.audit import services as audit
from beistand.core import scanning
from beistand.core.errors import AccessDenied, Conflict, DomainError, InvalidInput, NotFound
from beistand.reports import access, workflow
from beistand.reports.models import Attachment, Report

# Detected type -> canonical file extension.
ALLOWED_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/pdf": ".pdf",
    "image/heic": ".heic",
}
_EXTENSIONS = {
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "application/pdf": {".pdf"},
    "image/heic": {".heic", ".heif"},
}
# ISO-BMFF brands of HEIF/HEIC images as written by phones.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
MAX_PER_REPORT = 20


class TooLarge(DomainError):
    status = 413
    title = "Datei zu groß"
    type_slug = "payload-too-large"


class UnsupportedType(DomainError):
    status = 415
    title = "Dateityp nicht erlaubt"
    type_slug = "unsupported-media-type"


def max_bytes() -> int:
    return settings.ATTACHMENT_MAX_BYTES


def too_large_error() -> TooLarge:
    mib = max_bytes() / (1024 * 1024)
    return TooLarge(f"Die Datei ist zu groß (höchstens {mib:.0f} MiB).", field="file")


def sniff(head: bytes) -> str | None:
    """The content type from a file's first bytes, or None when it is not an allowed type."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIC_BRANDS:
        return "image/heic"
    return None


def clean_name(name: str, content_type: str) -> str:
    """A safe display/download name: no path, no control characters, the right extension."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name)
                   if unicodedata.category(ch)[0] != "C").strip().strip(".")
    stem, ext = os.path.splitext(name)
    if ext.lower() not in _EXTENSIONS[content_type]:
        # A renamed file is saved with the extension of what it really is.
        stem, ext = name, ALLOWED_TYPES[content_type]
    stem = stem[:200 - len(ext)] or "Anlage"
    return stem + ext


def may_attach(user, report: Report) -> bool:
    state = workflow.facts(report.status)
    if state.final:
        return False
    if workflow.is_reporter(user, report) and state.reporter_attaches:
        return True
    return bool(workflow.allowed_actions(user, report))


def _visible(user, report_id: int):
    if not access.visible_reports(user).filter(pk=report_id).exists():
        raise NotFound("Diese Meldung gibt es nicht oder Sie dürfen sie nicht sehen.")


def _check_may_attach(user, report: Report) -> None:
    if may_attach(user, report):
        return
    if workflow.is_reporter(user, report):
        raise Conflict(f"Im Status „{report.get_status_display()}“ können Sie keine Anlagen "
                       "mehr hinzufügen.")
    raise AccessDenied("Anlagen fügen die meldende Person und die jeweils zuständige Stelle "
                       "hinzu.")


def check_may_attach(user, report_id: int) -> None:
    """Refuse early (before an upload is read) when the user may not add an attachment."""
    _visible(user, report_id)
    _check_may_attach(user, Report.objects.get(pk=report_id))


@dataclass(frozen=True)
class CheckedUpload:
    """An upload that passed every check that needs no database: size, type by content, virus
    scan, digest. Made before the transaction that stores it (scanning can take seconds)."""

    upload: object
    content_type: str
    sha256: str

    @property
    def name(self) -> str:
        return self.upload.name


def check_upload(upload) -> CheckedUpload:
    """Refuse missing, oversized, empty, wrongly typed and infected files (DomainError)."""
    if upload is None:
        raise InvalidInput("Bitte eine Datei im Feld „file“ hochladen.", field="file")
    if upload.size > max_bytes():
        raise too_large_error()
    if upload.size == 0:
        raise InvalidInput("Die Datei ist leer.", field="file")
    upload.seek(0)
    content_type = sniff(upload.read(16))
    if content_type is None:
        raise UnsupportedType("Erlaubt sind Fotos (JPEG, PNG, HEIC) und PDF-Dokumente.",
                              field="file")
    scanning.scan(upload)  # ClamAV (BEISTAND_CLAMD): infected or unchecked files stop here
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(upload=upload, content_type=content_type, sha256=digest.hexdigest())


def check_uploads(uploads, room: int = MAX_PER_REPORT) -> tuple[list[CheckedUpload], list[str]]:
    """Check several uploads for one report that has ``room`` attachments left: the files that
    may be stored, and a German problem ("name: reason") for each one that may not."""
    checked, problems = [], []
    for upload in uploads:
        try:
            if len(checked) >= room:
                raise Conflict(f"Eine Meldung kann höchstens {MAX_PER_REPORT} Anlagen haben.")
            checked.append(check_upload(upload))
        except DomainError as exc:
            problems.append(f"{upload.name}: {exc.detail}")
    return checked, problems


def store(user, report: Report, checked: CheckedUpload) -> Attachment:
    """Store a checked upload with the report, inside the caller's transaction, the report row
    locked by the caller. The file is written at once: a caller whose transaction fails deletes
    it with ``discard``."""
    _check_may_attach(user, report)  # under the lock: the state may have moved
    if report.attachments.count() >= MAX_PER_REPORT:
        raise Conflict(f"Eine Meldung kann höchstens {MAX_PER_REPORT} Anlagen haben.")
    upload = checked.upload
    upload.seek(0)
    attachment = Attachment(report=report, content_type=checked.content_type,
                            original_name=clean_name(upload.name, checked.content_type),
                            size=upload.size, sha256=checked.sha256, uploaded_by=user)
    attachment.file.save("upload", upload, save=False)
    try:
        attachment.save()
    except BaseException:
        discard([attachment])
        raise
    return attachment


def discard(stored: list[Attachment]) -> None:
    """Delete the files of attachments whose rows rolled back: nothing partial stays behind."""
    for attachment in stored:
        if attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)


def add_attachment(user, report_id: int, upload) -> Attachment:
    """Store one uploaded file with the report; refuse wrong types and oversized files."""
    if upload is None:
        raise InvalidInput("Bitte eine Datei im Feld „file“ hochladen.", field="file")
    _visible(user, report_id)
    _check_may_attach(user, Report.objects.get(pk=report_id))
    checked = check_upload(upload)
    stored = []
    try:
        with transaction.atomic():
            report = Report.objects.select_for_update().get(pk=report_id)
            stored.append(store(user, report, checked))
    except BaseException:
        # Nothing partial stays behind: the row rolled back, so the file goes too.
        discard(stored)
        raise
    return stored[0]


def open_attachment(user, report_id: int, attachment_id: int) -> Attachment:
    """The attachment for download by someone who may see the report; the read is audited."""
    with transaction.atomic():
        _visible(user, report_id)
        attachment = Attachment.objects.filter(pk=attachment_id, report_id=report_id).first()
        if attachment is None:
            raise NotFound("Diese Anlage gibt es nicht.")
        audit.record_read(attachment, actor=user, purpose="Anlage der Meldung geöffnet")
    try:
        attachment.file.open("rb")
    except FileNotFoundError:
        raise NotFound("Die Datei dieser Anlage fehlt im Speicher.") from None
    return attachment


class SizeLimitUploadHandler(FileUploadHandler):
    """Stops reading a multipart upload as soon as one file exceeds the attachment limit.

    Placed first, it sees each chunk before the default handlers keep it in memory or a temporary
    file, so an oversized upload never lands anywhere. ``request.upload_too_large`` tells the view.
    """

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = limit if limit is not None else max_bytes()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None
