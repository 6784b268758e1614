#!/usr/bin/env python
"""Render page 1 of the Art. 14 notification letter and of the Art. 15 access report to
docs/documents/art14.png and art15.png (about 100 dpi).

Builds a demo case in a throw-away SQLite database (a temporary BEISTAND_DATA_DIR): the demo body,
a threat reported by `melder`, released, complaint filed, published by `zks`; a few logged
look-ups from two units. Run: .venv/bin/python scripts/render_register_letters.py [--pdf-dir DIR]
(``--pdf-dir`` also keeps the complete PDFs, to look at every page).
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
    data_dir = tempfile.mkdtemp(prefix="beistand-letters-")
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
    import pypdfium2
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from beistand.demo.services import load_demo
    from beistand.register import rights
    from beistand.register.models import Lookup, RightsRequest
    from beistand.reports import services as reports
    from beistand.reports.services import PerpetratorInput, ReportInput

    call_command("migrate", verbosity=0)
    load_demo()
    users = {u.username: u for u in get_user_model().objects.all()}
    occurred = timezone.localtime() - timedelta(days=1)
    report = reports.create_report(users["melder"], ReportInput(
        occurred_at=occurred.replace(hour=10, minute=35, second=0, microsecond=0),
        offences=["threat", "insult"],
        description="Der Betreiber drohte, mir nach Dienstschluss aufzulauern.",
        location_kind="field", address="Königstraße 12, 12345 Musterstadt",
        perpetrators=[PerpetratorInput(
            last_name="Großmann", first_names="Jürgen Matthias", birth_name="Weiß",
            aliases=["„Jogi“ Großmann"], date_of_birth=timezone.localdate().replace(year=1971),
            street="Mühlenweg", house_number="7a", postal_code="12347", city="Musterstadt")],
    ), submit=True)
    reports.transition(users["vorgesetzte"], report.pk, "release", {})
    reports.transition(users["personal"], report.pk, "file_complaint",
                       {"police_file_number": "StA MS 123 Js 456/26",
                        "complaint_date": timezone.localdate().isoformat()})
    reports.transition(users["zks"], report.pk, "publish", {})
    art14 = RightsRequest.objects.filter(kind=RightsRequest.Kind.NOTIFICATION).latest("pk")
    person = art14.person
    for unit, n in (("32/1", 3), ("50", 1)):
        for _ in range(n):
            Lookup.objects.create(kind="person", querier=users["abfrage"],
                                  querier_label="abfrage", unit_code=unit,
                                  purpose="Hausbesuch", shown=[person.pk])

    OUT.mkdir(parents=True, exist_ok=True)
    jobs = (("art14", lambda: rights.letter_pdf(users["zks"], art14.pk)),
            ("art15", lambda: rights.access_report_pdf(users["zks"], person.pk)))
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
