"""The secret-scrubbing log filter keeps uvicorn's access log working (a review found every
access line failing with "cannot unpack non-iterable NoneType": the filter had replaced the
record's arguments, which uvicorn's AccessFormatter unpacks) and hides the one-time answer link
of an alarm SMS (``/a/<token>``)."""

import io
import logging

from uvicorn.logging import AccessFormatter

from beistand.core.logscrub import ScrubSecrets


def _access_line(path: str) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s'))
    handler.addFilter(ScrubSecrets())
    logger = logging.getLogger("tests.access_log_format")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_access_lines_are_written_and_scrubbed(capsys):
    line = _access_line("/a/E2yy7vNR2VHXhyl5cZGdOg")
    assert line == '127.0.0.1:5000 - "GET /a/[entfernt] HTTP/1.1" 200 OK\n'
    line = _access_line("/api/v1/trigger/bsd_abcdefghijkl?token=geheim123")
    assert "abcdefghijkl" not in line and "geheim123" not in line
    assert "GET /api/v1/trigger/bsd_[entfernt]?token=[entfernt]" in line
    assert "Logging error" not in capsys.readouterr().err


def test_ordinary_paths_stay_readable():
    assert "GET /alarm/protokoll/?seite=2 HTTP/1.1" in _access_line("/alarm/protokoll/?seite=2")
