#!/usr/bin/env python
"""Render page 1 of each generated PDF to docs/documents/<name>.png (about 100 dpi): the case
documents (complaint, accident, summary), the register letters (art14, art15), the annual report
of the statistics and the DPO's record of processing activities.

Builds a demo-like case in a throw-away SQLite database (a temporary BEISTAND_DATA_DIR): the demo
body "Stadt Musterstadt", a threat reported by `melder`, released by `vorgesetzte`, complaint
filed by `personal`; then published by `zks`, with a few logged look-ups from two units.
Run: .venv/bin/python scripts/render_document_images.py [--pdf-dir DIR]
(``--pdf-dir`` also keeps the complete PDFs there, to look at every page).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "documents"
DPI = 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pdf-dir", type=Path, help="also write the PDFs to this directory")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="beistand-docs-")
    os.environ["BEISTAND_DATA_DIR"] = data_dir
    try:
        return _render(args.pdf_dir)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _render(pdf_dir: Path | None) -> int:
    os.environ.pop("DATABASE_URL", None)  # never touch a configured (real) database
    os.environ["DJANGO_SETTINGS_MODULE"] = "beistand.settings"
    sys.path.insert(0, str(ROOT / "src"))

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from beistand.demo.services import load_demo
    from beistand.organisation.models import Employee
    from beistand.register import rights
    from beistand.register.models import Lookup, RightsRequest
    from beistand.reports import documents
    from beistand.reports import services as reports
    from beistand.reports.services import PerpetratorInput, ReportInput, WitnessInput

    call_command("migrate", verbosity=0)
    load_demo()
    users = {u.username: u for u in get_user_model().objects.all()}
    colleague = Employee.objects.get(user=users["kollege1"])
    occurred = timezone.localtime() - timedelta(days=1)
    occurred = occurred.replace(hour=10, minute=35, second=0, microsecond=0)
    report = reports.create_report(users["melder"], ReportInput(
        occurred_at=occurred,
        offences=["threat", "insult"],
        description=(
            "Bei der Kontrolle eines Gewerbebetriebs in der Königstraße 12 beschimpfte mich der "
            "Betreiber als „Schmarotzer“ und drohte, mir nach Dienstschluss „aufzulauern und die "
            "Knochen zu brechen“. Er trat dabei dicht an mich heran und ballte die Fäuste. Mein "
            "Kollege holte Hilfe; der Mann ließ erst ab, als die Polizei eintraf.\n"
            "Er kennt meinen Namen aus einem früheren Bußgeldverfahren."),
        location_kind="field", address="Königstraße 12, 12345 Musterstadt",
        perpetrators=[PerpetratorInput(
            last_name="Großmann", first_names="Jürgen Matthias", birth_name="Weiß",
            aliases=["„Jogi“ Großmann"], date_of_birth=timezone.localdate().replace(year=1971),
            street="Mühlenweg", house_number="7a", postal_code="12347", city="Musterstadt",
            description="ca. 1,85 m, kräftig, Glatze, graue Arbeitsjacke")],
        witnesses=[WitnessInput(employee_id=colleague.pk),
                   WitnessInput(name="Elif Şahin", contact="Nachbargeschäft Königstraße 14")],
        injuries="keine körperlichen Verletzungen; Schlafstörungen, Anspannung",
        incapacity_days=5, police_on_site=True, police_on_site_file_number="PP MS 4711/26",
        house_ban_issued=False,
    ), submit=True)
    reports.transition(users["vorgesetzte"], report.pk, "release", {})
    reports.transition(users["personal"], report.pk, "file_complaint",
                       {"police_file_number": "StA MS 123 Js 456/26",
                        "complaint_date": timezone.localdate().isoformat()})

    jobs = [(kind, lambda kind=kind, user=user: documents.document_for(users[user], report.pk,
                                                                      kind))
            for kind, user in (("complaint", "personal"), ("accident", "personal"),
                               ("summary", "zks"))]
    _render_pages(jobs, pdf_dir)

    # The register letters: publication opens the Art. 14 request; the Art. 15 report counts
    # look-ups per unit.
    reports.transition(users["zks"], report.pk, "publish", {})
    art14 = RightsRequest.objects.filter(kind=RightsRequest.Kind.NOTIFICATION).latest("pk")
    person = art14.person
    for unit, n in (("32/1", 3), ("50", 1)):
        for _ in range(n):
            Lookup.objects.create(kind="person", querier=users["abfrage"],
                                  querier_label="abfrage", unit_code=unit,
                                  purpose="Hausbesuch", shown=[person.pk])
    _render_pages([("art14", lambda: rights.letter_pdf(users["zks"], art14.pk)),
                   ("art15", lambda: rights.access_report_pdf(users["zks"], person.pk))],
                  pdf_dir)

    # The statistics: the annual report of last year (demo incidents) and the Art. 30 record.
    from beistand.stats import dpo_records
    from beistand.stats import services as stats

    year = timezone.localdate().year - 1
    _render_pages([
        ("annual-report", lambda: stats.annual_report_pdf(users["statistik"], year)),
        ("processing-record", lambda: dpo_records.render_document(
            users["dsb"], "verzeichnis", "pdf")[:2])], pdf_dir)
    return 0


def _render_pages(jobs, pdf_dir: Path | None) -> None:
    """jobs: [(name, make() -> (filename, pdf bytes))]; page 1 of each to OUT/<name>.png."""
    import pypdfium2

    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in jobs:
        started = time.perf_counter()
        filename, pdf = make()
        took_ms = (time.perf_counter() - started) * 1000
        if pdf_dir is not None:
            pdf_dir.mkdir(parents=True, exist_ok=True)
            (pdf_dir / filename).write_bytes(pdf)
        doc = pypdfium2.PdfDocument(pdf)
        try:
            # A 256-colour palette keeps the anti-aliased text and cuts the file to a third.
            image = doc[0].render(scale=DPI / 72).to_pil().convert("RGB").quantize(256)
            target = OUT / f"{name}.png"
            image.save(target, optimize=True)
            print(f"{target.relative_to(ROOT)}  ({filename}: {len(doc)} Seite(n), "
                  f"{len(pdf) // 1024} KiB, erzeugt in {took_ms:.0f} ms; Bild "
                  f"{image.width}x{image.height} px)")
        finally:
            doc.close()


if __name__ == "__main__":
    raise SystemExit(main())
