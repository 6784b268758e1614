"""The restore drill, as an operator runs it: back up a body with reports, attachments and a
register; delete register data afterwards; restore into a fresh database and data directory with
``beistand restore``; what was deleted after the backup is deleted again, everything else is as
it was at the backup, attachments are byte-identical, and the audit chain verifies.

Runs on the database the suite runs on (SQLite, or PostgreSQL with a throw-away target)."""

import hashlib
import os
import subprocess
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.backup import services
from beistand.backup.crypto import ArchiveDamaged, BackupKeyError
from beistand.register import retention, zks
from beistand.register.models import (
    Lookup,
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
)
from beistand.register.services import refresh_person
from beistand.reports import attachments
from beistand.reports import services as reports
from beistand.reports.models import Attachment, Report
from beistand.reports.services import PerpetratorInput, ReportInput
from tests.backup.conftest import BEISTAND, KEY

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalogue")]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def make_person(last, first, street, incident_days_ago=100):
    with transaction.atomic():
        person = RegisterPerson.objects.create(last_name=last, first_names=first,
                                               date_of_birth=date(1975, 5, 6))
        RegisterAddress.objects.create(person=person, street=street, house_number="3",
                                       postal_code="50667", city="Köln")
        RegisterEntry.objects.create(person=person, hazard_level=2,
                                     incident_date=date.today() - timedelta(days=incident_days_ago))
        refresh_person(person)
    return person


@pytest.fixture
def body(org, make_user, backup_settings):
    melder = make_user("melder", unit=org["abt"], room=org["rooms"][1])
    zks_user = make_user("zks", roles=[Role.ZKS], unit=org["zks"])
    files = {}
    for n in range(3):
        report = reports.create_report(melder, ReportInput(
            occurred_at=timezone.now() - timedelta(hours=2 + n), offences=["threat"],
            description=f"Vorfall {n}: Der Kunde drohte am Schalter.",
            perpetrators=[PerpetratorInput(last_name="Mustermann", first_names="Max")]))
        for kind, head in (("foto.jpg", JPEG), ("anzeige.pdf", PDF))[: 1 + n % 2]:
            content = head + os.urandom(20_000 + 1000 * n)
            upload = SimpleUploadedFile(kind, content, content_type="application/octet-stream")
            att = attachments.add_attachment(melder, report.pk, upload)
            files[att.pk] = content
    gone = make_person("Quastenflosser", "Hildegard", "Ginsterweg")
    kept = make_person("Brennessel", "Otto", "Lindenallee")
    dup = make_person("Brenessel", "Otto", "Lindenallee", incident_days_ago=300)
    recent = Lookup.objects.create(kind=Lookup.Kind.PERSON, querier=melder,
                                   querier_label="melder", unit_code="32/1",
                                   purpose="Az. 32/1-77 Quastenflosser Hausbesuch",
                                   query={"last_name": "Quastenflosser"}, shown=[gone.pk])
    old = Lookup.objects.create(kind=Lookup.Kind.PERSON, querier=melder, querier_label="melder",
                                unit_code="32/1", purpose="Az. alt", query={}, shown=[])
    Lookup.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=400))
    return {"melder": melder, "zks": zks_user, "files": files, "gone": gone, "kept": kept,
            "dup": dup, "recent": recent, "old": old}


def persons_in(target):
    return {pid: (status, last, merged) for pid, status, last, merged in target.rows(
        "SELECT id, status, last_name, merged_into_id FROM register_registerperson")}


def test_restore_drill(body, target, tmp_path, journal):
    archive = tmp_path / "sicherung.bak"
    result = services.create_backup(archive)
    assert result.manifest["database"]["vendor"] == connection.vendor
    head = result.manifest["audit_head"]["seq"]
    assert len([n for n in result.manifest["files"] if n.startswith("data/uploads/")]) == 4
    chain_at_backup = dict(AuditEvent.objects.filter(seq__lte=head).values_list("seq", "hash"))
    reports_at_backup = set(Report.objects.values_list("pk", flat=True))

    # After the backup: an Art. 17 erasure, a merge of a duplicate, the daily retention run
    # (the year-old look-up), and a new report that the restore will lose.
    gone, kept, dup = body["gone"], body["kept"], body["dup"]
    retention.purge_person(gone, "Löschung nach Art. 17 DSGVO: Antrag von Quastenflosser")
    zks.merge_persons(body["zks"], kept.pk, dup.pk, "Dublette (Schreibweise)")
    retention.run_retention()
    assert not Lookup.objects.filter(pk=body["old"].pk).exists()
    reports.create_report(body["melder"], ReportInput(
        occurred_at=timezone.now(), offences=["threat"], description="Nach der Sicherung."))
    lines = journal.read_text()
    assert lines.count('"register.person.purge"') == 2 and "register.lookup.prune" in lines
    assert "Quastenflosser" not in lines and "Hildegard" not in lines

    out = target.run("restore", str(archive), "--yes")
    assert "Audit-Kette gültig" in out.stdout, out.stdout
    assert "1 Person(en) erneut gelöscht, 1 Zusammenführung(en) wiederholt" in out.stdout

    persons = persons_in(target)
    assert persons[gone.pk] == ("deleted", "", None)
    assert persons[dup.pk] == ("deleted", "", kept.pk)
    assert persons[kept.pk][:2] == ("active", "Brennessel")
    assert target.rows(f"SELECT count(*) FROM register_registerentry WHERE person_id = "
                       f"{kept.pk}") == [(2,)]
    assert target.rows(f"SELECT count(*) FROM register_registeraddress WHERE person_id = "
                       f"{gone.pk}") == [(0,)]
    # The look-up that showed the erased person stays, without the query data and the name.
    (purpose, query), = target.rows(f"SELECT purpose, query FROM register_lookup WHERE id = "
                                    f"{body['recent'].pk}")
    assert "Quastenflosser" not in purpose and "Quastenflosser" not in str(query)
    assert target.rows(f"SELECT count(*) FROM register_lookup WHERE id = {body['old'].pk}") \
        == [(0,)]
    # Everything else as at the backup: the report made afterwards is gone.
    assert {r[0] for r in target.rows("SELECT id FROM reports_report")} == reports_at_backup
    # Attachments byte-identical, where the database says they are.
    stored = target.rows("SELECT id, file, sha256 FROM reports_attachment")
    assert len(stored) == 4
    for pk, name, sha in stored:
        content = (target.uploads / name).read_bytes()
        assert content == body["files"][pk] and hashlib.sha256(content).hexdigest() == sha
    # The chain up to the backup is the original one; the re-applied deletions follow it.
    restored_chain = dict(target.rows(f"SELECT seq, hash FROM audit_auditevent "
                                      f"WHERE seq <= {head}"))
    assert restored_chain == chain_at_backup
    actions = [a for (a,) in target.rows(f"SELECT action FROM audit_auditevent WHERE seq > "
                                         f"{head} ORDER BY seq")]
    assert actions.count("register.person.purge") == 2 and actions[-1] == "backup.restore"
    verify = target.run("audit", "verify")
    assert "Audit-Kette gültig" in verify.stdout

    # A second restore of the same archive into the now non-empty target is refused.
    again = target.run("restore", str(archive), "--yes", check=False)
    assert again.returncode != 0 and "nicht leer" in again.stderr


def test_without_the_journal_the_erased_person_would_come_back(body, target, tmp_path,
                                                               journal):
    """Why the journal exists: the backup alone brings an erasure back."""
    archive = tmp_path / "sicherung.bak"
    services.create_backup(archive)
    retention.purge_person(body["gone"], "Löschung nach Art. 17 DSGVO")
    journal.rename(journal.with_name("woanders.log"))
    target.run("restore", str(archive), "--yes")
    assert persons_in(target)[body["gone"].pk][:2] == ("active", "Quastenflosser")


def source_env(target, tmp_path) -> dict:
    """The environment of an operator backing up the database of this test."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{s['NAME']}"
    else:
        url = target.url.rsplit("/", 1)[0] + "/" + s["NAME"]
    (tmp_path / "quelle").mkdir(exist_ok=True)
    return dict(target.env, DATABASE_URL=url, BEISTAND_DATA_DIR=str(tmp_path / "quelle"))


def test_wrong_key_or_tampered_archive_changes_nothing(body, target, tmp_path):
    """The operator's commands as subprocesses: backup (never without a key, never over an
    existing file), check, and restores that must fail without touching anything."""
    archive = tmp_path / "sicherung.bak"
    source = source_env(target, tmp_path)

    def run(*args, **env):
        return subprocess.run([BEISTAND, *args], env=dict(source, **env), capture_output=True,
                              text=True, timeout=120, check=False)

    refused = run("backup", "--output", str(archive), BEISTAND_BACKUP_KEY="")
    assert refused.returncode == 1 and "BEISTAND_BACKUP_KEY ist nicht gesetzt" in refused.stderr
    assert not archive.exists()
    made = run("backup", "--output", str(archive))
    assert made.returncode == 0, made.stderr
    assert "Sicherung" in made.stdout and archive.stat().st_mode & 0o077 == 0
    assert run("backup", "--output", str(archive)).returncode == 1  # never overwritten
    checked = run("restore", "--check", str(archive))
    assert checked.returncode == 0 and "Sicherung in Ordnung" in checked.stdout
    counts = (Report.objects.count(), Attachment.objects.count(),
              RegisterPerson.objects.count(), AuditEvent.objects.count())

    wrong = target.run("restore", str(archive), "--yes", key="falscher-schluessel-1234567890",
                       check=False)
    assert wrong.returncode == 1 and "Falscher Schlüssel" in wrong.stderr
    assert "Nichts wurde geändert" in wrong.stderr
    blob = bytearray(archive.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    tampered = tmp_path / "veraendert.bak"
    tampered.write_bytes(bytes(blob))
    bad = target.run("restore", str(tampered), "--yes", check=False)
    assert bad.returncode == 1 and "beschädigt oder wurde verändert" in bad.stderr
    assert target.tables() == 0
    assert not any(p.is_file() for p in target.uploads.rglob("*")) \
        if target.uploads.exists() else True

    # In-process, even with --force over the live database: nothing is touched.
    with pytest.raises(BackupKeyError):
        services.restore_backup(archive, key="falscher-schluessel-1234567890", force=True)
    with pytest.raises(ArchiveDamaged):
        services.restore_backup(tampered, key=KEY, force=True)
    assert (Report.objects.count(), Attachment.objects.count(),
            RegisterPerson.objects.count(), AuditEvent.objects.count()) == counts


def test_backup_refuses_without_key_and_never_overwrites(backup_settings, tmp_path, org):
    backup_settings.BACKUP_KEY = ""
    with pytest.raises(BackupKeyError, match="BEISTAND_BACKUP_KEY"):
        services.create_backup(tmp_path / "a.bak")
    backup_settings.BACKUP_KEY = KEY
    existing = tmp_path / "b.bak"
    existing.write_bytes(b"alt")
    with pytest.raises(services.BackupError, match="gibt es schon"):
        services.create_backup(existing)
    assert existing.read_bytes() == b"alt"
    manifest = services.check_backup(services.create_backup(tmp_path / "c.bak").path)
    assert manifest["database"]["vendor"] == connection.vendor
    assert "audit" in manifest["migrations"]

