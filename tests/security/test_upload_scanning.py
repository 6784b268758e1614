"""Upload scanning with clamd's INSTREAM protocol, against a small real TCP server speaking it
(ClamAV's daemon needs its signature database, which cannot be downloaded here)."""

import socket
import socketserver
import struct
import threading

import pytest

from beistand.reports.models import Attachment
from tests.security.conftest import PNG

pytestmark = pytest.mark.django_db

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class FakeClamd(socketserver.BaseRequestHandler):
    """clamd's INSTREAM: b"zINSTREAM\\0", then <4-byte length><data>..., then 0."""

    received: list = []

    def handle(self):
        command = b""
        while not command.endswith(b"\0"):
            command += self.request.recv(1)
        assert command == b"zINSTREAM\0"
        data = b""
        while True:
            size = struct.unpack("!L", self._exactly(4))[0]
            if size == 0:
                break
            data += self._exactly(size)
        FakeClamd.received.append(data)
        verdict = b"stream: Eicar-Signature FOUND\0" if b"EICAR" in data else b"stream: OK\0"
        self.request.sendall(verdict)

    def _exactly(self, n):
        out = b""
        while len(out) < n:
            out += self.request.recv(n - len(out))
        return out


@pytest.fixture
def clamd(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeClamd)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeClamd.received = []
    settings.CLAMD = f"tcp://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def _upload(client, world, name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = f"/api/v1/reports/{world.ids['report_id']}/attachments"
    return client.post(url, {"file": SimpleUploadedFile(name, content)},
                       **world.headers["reporter"])


def test_clean_file_is_scanned_and_stored(client, world, clamd):
    before = Attachment.objects.count()
    response = _upload(client, world, "foto.png", PNG)
    assert response.status_code == 201, response.content
    assert FakeClamd.received == [PNG]
    assert Attachment.objects.count() == before + 1


def test_infected_file_is_refused_and_nothing_stored(client, world, clamd, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    before = Attachment.objects.count()
    # A PDF (the type check passes) that carries the EICAR test signature.
    response = _upload(client, world, "scan.pdf", b"%PDF-1.4\n" + EICAR)
    assert response.status_code == 422
    assert "Schadsoftware" in response.json()["detail"]
    assert Attachment.objects.count() == before
    assert not any(tmp_path.rglob("*"))


def test_unreachable_scanner_fails_closed(client, world, settings, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    settings.CLAMD = f"tcp://127.0.0.1:{port}"
    settings.MEDIA_ROOT = tmp_path
    before = Attachment.objects.count()
    response = _upload(client, world, "foto.png", PNG)
    assert response.status_code == 503
    assert "nicht auf Schadsoftware geprüft" in response.json()["detail"]
    assert Attachment.objects.count() == before
    settings.CLAMD_FAIL_OPEN = True
    assert _upload(client, world, "foto.png", PNG).status_code == 201


def test_without_clamd_nothing_is_scanned(client, world, settings):
    settings.CLAMD = ""
    assert _upload(client, world, "foto.png", PNG).status_code == 201
