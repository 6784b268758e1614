"""Saving the report form is one service call and one transaction: the draft, its link to
where it started (e.g. the alarm), the checked attachments and the submission all happen, or
none of them does (no report, no file left behind)."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from beistand.core.errors import Conflict, InvalidInput
from beistand.reports import attachments, origins, services
from beistand.reports.models import Attachment, Report, Status
from tests.reports.conftest import report_input

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200


@pytest.fixture(autouse=True)
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    return tmp_path / "uploads"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _jpeg(name="foto.jpg"):
    return SimpleUploadedFile(name, JPEG, content_type="image/jpeg")


def _origin(linked: list, refuse: bool = False) -> origins.Origin:
    def link(user, object_id, report):
        if refuse:
            raise Conflict("Dieser Vorgang hat schon eine Meldung.")
        linked.append((object_id, report.pk))
        return True

    return origins.Origin(name="vorgang", initial=lambda user, object_id: {}, link=link)


def test_draft_link_attachments_and_submission_in_one_call(cast, storage):
    linked = []
    files, problems = attachments.check_uploads([_jpeg("a.jpg"), _jpeg("b.jpg")])
    assert problems == []
    report = services.create_report(cast["melder"], report_input(), submit=True,
                                    source=origins.Source(_origin(linked), 7), files=files)
    report.refresh_from_db()
    assert report.status == Status.SUBMITTED
    assert linked == [(7, report.pk)]
    assert sorted(report.attachments.values_list("original_name", flat=True)) == ["a.jpg",
                                                                                  "b.jpg"]
    assert len(_files(storage)) == 2
    assert list(report.history.values_list("action", flat=True)) == ["create", "submit"]


def test_a_refused_link_leaves_nothing_behind(cast, storage):
    files, _ = attachments.check_uploads([_jpeg()])
    with pytest.raises(Conflict):
        services.create_report(cast["melder"], report_input(), submit=True,
                               source=origins.Source(_origin([], refuse=True), 7), files=files)
    assert not Report.objects.exists()
    assert _files(storage) == []


def test_a_failing_attachment_rolls_back_the_report_and_deletes_stored_files(cast, storage):
    # One more than a report may have: the last one fails after the others were written.
    uploads = [_jpeg(f"{i}.jpg") for i in range(attachments.MAX_PER_REPORT + 1)]
    files = [attachments.check_upload(u) for u in uploads]
    with pytest.raises(Conflict):
        services.create_report(cast["melder"], report_input(), submit=True, files=files)
    assert not Report.objects.exists() and not Attachment.objects.exists()
    assert _files(storage) == []


def test_check_uploads_names_the_files_beyond_the_room_left():
    files, problems = attachments.check_uploads([_jpeg("a.jpg"), _jpeg("b.jpg")], room=1)
    assert [f.name for f in files] == ["a.jpg"]
    assert len(problems) == 1 and problems[0].startswith("b.jpg: ")


def test_the_alarm_origin_is_registered_at_start_up_and_refuses_a_bad_number():
    with pytest.raises(InvalidInput) as info:
        origins.from_query({"alarm": "12a"})
    assert info.value.detail == "Ungültige Alarmnummer."
    assert origins.from_query({"alarm": "12"}).query == "alarm=12"
    assert origins.from_query({}) is None
