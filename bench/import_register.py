"""Benchmark of the legacy register import (``beistand import-register``).

Generates N rows (default 100,000) of a synthetic legacy register (German and international
names, addresses, offences, measures; ';'-separated UTF-8) in a temporary directory and imports
them into a fresh SQLite database there, or into ``--database-url`` (which must be an EMPTY,
disposable database: it is migrated and filled). Measured: the import itself (validation, key
building, chunked bulk writes, one audit row per chunk) and a re-import (idempotency: nothing
created).

Progress goes to stderr; the last line of stdout is JSON
``{"rows", "seconds", "rows_per_s", ...}``.

    .venv/bin/python bench/import_register.py [--rows 1000000] [--database-url postgres://...]
"""

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
        "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
        "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Nowak", "Kowalski", "Wiśniewski",
        "Popescu", "Ivanov", "Petrović", "Rossi", "García", "Nguyen", "Haddad", "Osei",
        "von der Heide", "de Vries", "Van Dijk", "Öztürk", "Groß", "Weiß", "Meier-Lüdenscheidt"]
FIRST = ["Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hasan", "Ida", "Jonas",
         "Katrin", "Lukas", "Mia", "Noah", "Olga", "Paul", "Rita", "Sven", "Tanja", "Ümit",
         "Ayşe", "Mehmet", "Fatma", "Piotr", "Agnieszka", "Ion", "Dragan", "Giulia", "Minh",
         "Kwame", "Hans Peter", "Karl-Heinz", "Marie-Luise", "José", "Zoë"]
STREETS = ["Hauptstraße", "Bahnhofstr.", "Am Markt", "Ginsterweg", "Kölner Straße",
           "Lindenallee", "Schulstraße", "Gartenweg", "Rheinufer", "Zur Mühle"]
OFFENCES = ["insult", "harassment", "verbal_aggression", "property_damage",
            "physical_violence", "threat", "coercion", "weapon"]
MEASURES = ["pairs", "police_escort", "no_home_visit", "secured_room", "security_present"]
HEADER = ("last_name;first_names;birth_name;aliases;date_of_birth;street;house_number;"
          "postal_code;city;hazard_level;offence_codes;last_incident_on;measures")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def letters(i: int) -> str:
    """A unique letters-only tag (names are normalised to letters, digits would vanish)."""
    out = ""
    while True:
        i, r = divmod(i, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[r] + out
        if not i:
            return out.capitalize()


def write_file(path: Path, n: int, rng: random.Random, today: date) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER + "\r\n")
        for i in range(n):
            last = rng.choice(LAST)
            # A unique first-name suffix keeps the natural keys unique at any N.
            first = f"{rng.choice(FIRST)} X{letters(i).lower()}"
            birth = rng.choice(LAST) if i % 5 == 0 else ""
            aliases = rng.choice(LAST) if i % 7 == 0 else ""
            dob = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 60))
            dob_text = dob.isoformat() if i % 2 else dob.strftime("%d.%m.%Y")
            street, number, postal, city = "", "", "", ""
            if i % 4:
                street, number = rng.choice(STREETS), str(rng.randrange(1, 200))
                postal, city = f"{rng.randrange(10000, 99999)}", "Musterstadt"
            level = rng.choice((2, 2, 3, 1))
            offences = "|".join(rng.sample(OFFENCES, rng.choice((1, 1, 2))))
            incident = today - timedelta(days=rng.randrange(1, 4 * 365))
            measures = "|".join(rng.sample(MEASURES, rng.choice((0, 1, 2))))
            fh.write(f"{last};{first};{birth};{aliases};{dob_text};{street};{number};{postal};"
                     f"{city};{level};{offences};{incident.isoformat()};{measures}\r\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--database-url", help="empty, disposable database (default: SQLite "
                                               "in a temporary directory)")
    parser.add_argument("--no-reimport", action="store_true")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="beistand-bench-import-register-")
    os.environ["BEISTAND_DATA_DIR"] = tmp.name
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "beistand.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from beistand.register import importer
    from beistand.register.models import RegisterPerson, SearchKey

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    path = Path(tmp.name) / "altregister.csv"
    start = time.perf_counter()
    write_file(path, args.rows, random.Random(args.seed), today)
    log(f"{args.rows} rows written ({path.stat().st_size / 1e6:.0f} MB) in "
        f"{time.perf_counter() - start:.1f} s")

    class Progress:
        def __init__(self):
            self.n = 0

        def write(self, text):
            self.n += 1
            if self.n % 10 == 0:
                log(text)

    report = importer.import_register(path, stdout=Progress())
    assert report.ok and report.created == args.rows, report.as_text()[:2000]
    log(report.as_text())
    figures = {
        "bench": "import_register",
        "database": connection.vendor,
        "python": platform.python_version(),
        "rows": args.rows,
        "seconds": round(report.seconds, 1),
        "rows_per_s": round(args.rows / report.seconds),
        "persons": RegisterPerson.objects.count(),
        "search_keys": SearchKey.objects.count(),
    }
    if not args.no_reimport:
        again = importer.import_register(path)
        assert again.created == 0 and again.existing == args.rows
        figures["reimport_seconds"] = round(again.seconds, 1)
    tmp.cleanup()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
