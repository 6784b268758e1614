"""Virus scanning of uploads with ClamAV's daemon (clamd), before anything is stored.

``BEISTAND_CLAMD`` names the daemon: ``tcp://host:3310`` or ``unix:///run/clamav/clamd.ctl``.
The file is streamed with clamd's ``INSTREAM`` command (chunks of a 4-byte big-endian length
and the data, ended by a zero length); clamd answers ``stream: OK``, ``stream: <name> FOUND``
or ``... ERROR``. Infected files are refused (422). When clamd cannot be reached or answers an
error, the upload is refused too (503, "fail closed") unless ``BEISTAND_CLAMD_FAIL_OPEN``.
"""

import logging
import socket
import struct
from urllib.parse import urlparse

from django.conf import settings

from beistand.core.errors import DomainError

logger = logging.getLogger("beistand.scanning")
CHUNK = 64 * 1024


class Infected(DomainError):
    status = 422
    title = "Schadsoftware gefunden"
    type_slug = "infected-upload"


class ScannerUnavailable(DomainError):
    status = 503
    title = "Virenprüfung nicht möglich"
    type_slug = "scanner-unavailable"


def _connect(address: str, timeout: float) -> socket.socket:
    url = urlparse(address)
    if url.scheme == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(url.path)
        return sock
    if url.scheme == "tcp" and url.hostname:
        return socket.create_connection((url.hostname, url.port or 3310), timeout=timeout)
    raise OSError(f"BEISTAND_CLAMD must be tcp://host:port or unix:///path, got {address!r}")


def _instream(address: str, chunks, timeout: float) -> str:
    with _connect(address, timeout) as sock:
        sock.sendall(b"zINSTREAM\0")
        for chunk in chunks:
            for start in range(0, len(chunk), CHUNK):
                part = chunk[start:start + CHUNK]
                sock.sendall(struct.pack("!L", len(part)) + part)
        sock.sendall(struct.pack("!L", 0))
        answer = b""
        while not answer.endswith(b"\0"):
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    return answer.rstrip(b"\0").decode("utf-8", "replace").strip()


def scan(upload) -> None:
    """Refuse an infected upload (``Infected``) or, fail closed, one that could not be checked
    (``ScannerUnavailable``). Without ``BEISTAND_CLAMD`` nothing is scanned."""
    address = settings.CLAMD
    if not address:
        return
    upload.seek(0)
    try:
        answer = _instream(address, upload.chunks(), settings.CLAMD_TIMEOUT)
    except OSError as exc:
        answer = f"ERROR {exc}"
    finally:
        upload.seek(0)
    if answer.endswith("FOUND"):
        name = answer.removeprefix("stream:").removesuffix("FOUND").strip()
        logger.warning("upload refused: clamd found %s", name)
        raise Infected(f"Die Datei enthält Schadsoftware ({name}) und wurde nicht gespeichert.",
                       field="file")
    if answer.endswith("OK"):
        return
    logger.error("virus scan failed (%s): %s", address, answer)
    if settings.CLAMD_FAIL_OPEN:
        logger.warning("upload stored unscanned (BEISTAND_CLAMD_FAIL_OPEN)")
        return
    raise ScannerUnavailable("Die Datei konnte nicht auf Schadsoftware geprüft werden und wurde "
                             "nicht gespeichert. Bitte versuchen Sie es später erneut.",
                             field="file")
