"""Attachments: type by content, size limit without a 500, stored outside the web root,
downloaded only by those who may see the report (audited), nothing left behind on refusal."""

import hashlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from beistand.audit.models import AuditEvent
from beistand.reports import attachments
from beistand.reports.models import Attachment
from tests.reports.api_helpers import act, create, snapshot

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 100
MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    return {"media": tmp_path / "uploads", "tmp": tmp_path / "tmp"}


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def tokens(cast, bearer):
    return {name: bearer(user) for name, user in cast.items() if name != "org"}


def upload(client, headers, report_id, content, name="foto.jpg",
           content_type="image/jpeg"):
    return client.post(f"/api/v1/reports/{report_id}/attachments",
                       {"file": SimpleUploadedFile(name, content, content_type=content_type)},
                       **headers)


@pytest.mark.parametrize("content,expected,name", [
    (JPEG, "image/jpeg", "foto.jpg"), (PNG, "image/png", "bildschirm.png"),
    (PDF, "application/pdf", "anzeige.pdf"), (HEIC, "image/heic", "IMG_0001.HEIC"),
])
def test_allowed_types_are_stored_outside_the_web_root(client, cast, tokens, storage, settings,
                                                       content, expected, name):
    rid = create(client, tokens["melder"])["id"]
    response = upload(client, tokens["melder"], rid, content, name=name)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["content_type"] == expected and data["name"] == name
    assert data["size"] == len(content)
    assert data["sha256"] == hashlib.sha256(content).hexdigest()
    stored = _files(storage["media"])
    assert len(stored) == 1 and stored[0].read_bytes() == content
    assert name not in str(stored[0])  # never the client's name on disk
    assert not str(stored[0]).startswith(str(settings.STATIC_ROOT))
    detail = client.get(f"/api/v1/reports/{rid}", **tokens["melder"]).json()
    assert [a["id"] for a in detail["attachments"]] == [data["id"]]


def test_download_is_an_audited_attachment_for_those_who_see_the_report(client, cast, tokens):
    rid = create(client, tokens["melder"], submit=True)["id"]
    aid = upload(client, tokens["melder"], rid, PDF, name="anzeige.pdf").json()["id"]
    url = f"/api/v1/reports/{rid}/attachments/{aid}"
    response = client.get(url, **tokens["chefin"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "anzeige.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    read = AuditEvent.objects.get(action="reports.attachment.read")
    assert read.actor_id == cast["chefin"].pk and read.object_id == str(aid)
    for name in ("fremd", "personal"):  # may not see the report (yet)
        assert client.get(url, **tokens[name]).status_code == 404
    other = create(client, tokens["melder"], submit=True)["id"]
    assert client.get(f"/api/v1/reports/{other}/attachments/{aid}",
                      **tokens["melder"]).status_code == 404
    assert AuditEvent.objects.filter(action="reports.attachment.read").count() == 1


def test_the_clients_name_and_type_are_not_trusted(client, cast, tokens):
    rid = create(client, tokens["melder"])["id"]
    response = upload(client, tokens["melder"], rid, PNG, name="../../etc/rechnung.pdf",
                      content_type="application/pdf")
    assert response.status_code == 201
    assert response.json()["content_type"] == "image/png"
    assert response.json()["name"] == "rechnung.pdf.png"


@pytest.mark.parametrize("content,name,content_type", [
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100, "bericht.pdf", "application/pdf"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
     b"</script></svg>", "foto.svg", "image/svg+xml"),
    (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "foto.jpg", "image/jpeg"),
    (b"GIF89a\x01\x00\x01\x00", "animation.gif", "image/gif"),
    (b"PK\x03\x04" + b"\x00" * 50, "beweise.zip", "application/zip"),
], ids=["exe-as-pdf", "svg", "html-as-jpeg", "gif", "zip"])
def test_forbidden_types_are_415_and_leave_nothing(client, cast, tokens, storage, content,
                                                   name, content_type):
    rid = create(client, tokens["melder"])["id"]
    before = snapshot()
    response = upload(client, tokens["melder"], rid, content, name=name,
                      content_type=content_type)
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"
    assert snapshot() == before and _files(storage["media"]) == []


def test_ten_mib_work_more_is_413_without_leftovers(client, cast, tokens, storage, settings):
    assert 10 * MiB == settings.ATTACHMENT_MAX_BYTES
    rid = create(client, tokens["melder"])["id"]
    exact = PDF + b"0" * (10 * MiB - len(PDF))
    response = upload(client, tokens["melder"], rid, exact, name="scan.pdf")
    assert response.status_code == 201, response.content
    assert response.json()["size"] == 10 * MiB
    before = snapshot()
    stored_before = _files(storage["media"])
    # One byte over: the upload handler stops reading; 11 MiB: refused by Content-Length.
    for size in (10 * MiB + 1, 11 * MiB, 30 * MiB):
        big = PDF + b"0" * (size - len(PDF))
        response = upload(client, tokens["melder"], rid, big, name="scan.pdf")
        assert response.status_code == 413, size
        assert response["Content-Type"] == "application/problem+json"
        assert "10 MiB" in response.json()["detail"]
    assert snapshot() == before
    assert _files(storage["media"]) == stored_before
    assert _files(storage["tmp"]) == []


def test_the_service_checks_the_size_itself(cast, settings):
    from beistand.reports import services
    from tests.reports.conftest import report_input

    settings.ATTACHMENT_MAX_BYTES = 1000
    report = services.create_report(cast["melder"], report_input())
    with pytest.raises(attachments.TooLarge):
        attachments.add_attachment(cast["melder"], report.pk,
                                   SimpleUploadedFile("a.pdf", PDF + b"0" * 1000))
    assert Attachment.objects.count() == 0


def test_empty_or_missing_file_is_400(client, cast, tokens):
    rid = create(client, tokens["melder"])["id"]
    before = snapshot()
    assert upload(client, tokens["melder"], rid, b"").status_code == 400
    response = client.post(f"/api/v1/reports/{rid}/attachments", {"datei": "x"},
                           **tokens["melder"])
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "file"
    assert snapshot() == before


def test_who_may_attach_when(client, cast, tokens):
    rid = create(client, tokens["melder"], submit=True)["id"]
    assert upload(client, tokens["melder"], rid, JPEG).status_code == 201
    assert upload(client, tokens["chefin"], rid, JPEG).status_code == 201  # release is hers
    assert upload(client, tokens["fremd"], rid, JPEG).status_code == 404
    assert upload(client, tokens["personal"], rid, JPEG).status_code == 404
    act(client, tokens["chefin"], rid, "release")
    before = snapshot()
    assert upload(client, tokens["melder"], rid, JPEG).status_code == 409  # too late now
    assert upload(client, tokens["chefin"], rid, JPEG).status_code == 403  # her step is done
    assert snapshot() == before
    # Personnel management adds the copy of the criminal complaint.
    assert upload(client, tokens["personal"], rid, PDF, name="anzeige.pdf").status_code == 201
    act(client, tokens["personal"], rid, "file_complaint", police_file_number="KK-1")
    act(client, tokens["zks"], rid, "publish")
    assert upload(client, tokens["zks"], rid, JPEG).status_code == 403  # final: closed for all
    assert Attachment.objects.filter(report_id=rid).count() == 3


def test_at_most_max_per_report(client, cast, tokens, monkeypatch):
    monkeypatch.setattr(attachments, "MAX_PER_REPORT", 2)
    rid = create(client, tokens["melder"])["id"]
    for _ in range(2):
        assert upload(client, tokens["melder"], rid, JPEG).status_code == 201
    assert upload(client, tokens["melder"], rid, JPEG).status_code == 409
    assert Attachment.objects.filter(report_id=rid).count() == 2


def test_attachments_are_not_served_by_a_url(client, cast, tokens, storage):
    rid = create(client, tokens["melder"])["id"]
    upload(client, tokens["melder"], rid, JPEG)
    stored = _files(storage["media"])[0].relative_to(storage["media"])
    for prefix in ("/media/", "/uploads/", "/static/", "/"):
        assert client.get(f"{prefix}{stored}").status_code in (302, 404), prefix
