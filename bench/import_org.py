"""Benchmark of the organisation CSV import at the size of a large city (21,000 employees).

Generates a synthetic HR export (units and employees, ';'-separated, cp1252 like a German Excel
export) in a temporary directory and imports it into a fresh SQLite database in that directory
(production settings: WAL, IMMEDIATE transactions; every written row is audited). Measured:

* ``first_import_s`` / ``first_rows_per_s``: the initial import (everything created);
* ``reimport_s`` / ``reimport_rows_per_s``: the same files again (everything unchanged, nothing
  written: the usual nightly run);
* ``update_s`` / ``update_rows_per_s``: a re-import in which 10 % of the employees changed;
* ``dry_run_s``: validation and planning of the first file set alone;
* ``verify_s``: ``beistand audit verify`` over the resulting chain.

Progress goes to stderr; the figures are printed as JSON on the last line of stdout.

    .venv/bin/python bench/import_org.py [--employees 21000]
"""

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

FIRST = ["Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hasan", "Ida", "Jonas",
         "Katrin", "Lukas", "Mia", "Noah", "Olga", "Paul", "Rita", "Sven", "Tanja", "Ümit"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
        "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange"]


def ascii_mail(name: str) -> str:
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        name = name.lower().replace(a, b)
    return name


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_places():
    """3 sites x 4 buildings x 5 floors x 40 rooms = 2,400 rooms."""
    from django.db import transaction

    from beistand.organisation.models import Building, Floor, Room, Site

    rooms = []
    with transaction.atomic():
        for s in range(3):
            site = Site.objects.create(name=f"Standort {s + 1}", street=f"Hauptstraße {s + 1}",
                                       postal_code="12345", city="Musterstadt",
                                       latitude=51.26 + s / 100, longitude=7.37 + s / 100)
            for b in range(4):
                building = Building.objects.create(site=site, name=f"Haus {chr(65 + b)}")
                for level in range(5):
                    floor = Floor.objects.create(building=building, level=level)
                    for r in range(1, 41):
                        room = Room.objects.create(floor=floor, number=f"{level}.{r:02d}",
                                                   x=2.0 * r, y=0.0)
                        rooms.append((site.name, building.name, level, room.number))
    return rooms


def write_files(directory: Path, n_employees: int, rooms, rng: random.Random, changed=0.0):
    """6 Dezernate, 60 Ämter, 360 Abteilungen; employees spread over the Abteilungen."""
    units = ["code;name;kind;parent_code;head_personnel_number"]
    leaves = []
    heads = {}
    pn = 0

    def next_pn():
        nonlocal pn
        pn += 1
        return f"{pn:07d}"

    tree = []
    for d in range(1, 7):
        dez = f"D{d}"
        tree.append((dez, f"Dezernat {d}", "dezernat", ""))
        for a in range(10):
            amt = f"{d}{a}"
            tree.append((amt, f"Amt {amt}", "amt", dez))
            for t in range(1, 7):
                abt = f"{amt}/{t}"
                tree.append((abt, f"Abteilung {abt}", "abteilung", amt))
                leaves.append(abt)
    for code, *_ in tree:
        heads[code] = next_pn()
    for code, name, kind, parent in tree:
        units.append(f"{code};{name};{kind};{parent};{heads[code]}")

    header = ("personnel_number;last_name;first_name;email;service_phone;mobile_phone;unit_code;"
              "supervisor_personnel_number;site;building;floor;room;workstation;field_service;"
              "active")
    employees = [header]
    unit_of_head = {v: k for k, v in heads.items()}
    all_pns = list(heads.values())
    while len(all_pns) < n_employees:
        all_pns.append(next_pn())
    for i, number in enumerate(all_pns):
        unit = unit_of_head.get(number) or leaves[i % len(leaves)]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        site, building, level, room = rooms[i % len(rooms)]
        phone = f"+49 1234 555-{i % 10000:04d}"
        if changed and i % round(1 / changed) == 0:
            phone = f"+49 1234 556-{i % 10000:04d}"
        field = "ja" if i % 7 == 0 else "nein"
        employees.append(
            f"{number};{last};{first};{ascii_mail(first)}.{number}@musterstadt.example;{phone};;"
            f"{unit};;{site};{building};{level};{room};PC-{number};{field};ja")
    units_path = directory / "einheiten.csv"
    employees_path = directory / "beschaeftigte.csv"
    units_path.write_bytes(("\r\n".join(units) + "\r\n").encode("cp1252"))
    employees_path.write_bytes(("\r\n".join(employees) + "\r\n").encode("cp1252"))
    return [units_path, employees_path], len(units) - 1, len(employees) - 1


def timed(label, fn):
    log(f"{label} ...")
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    log(f"{label}: {seconds:.2f} s")
    return result, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=21000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="beistand-bench-import-")
    os.environ["BEISTAND_DATA_DIR"] = tmp.name
    os.environ.pop("DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "beistand.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from beistand.audit.services import verify_chain
    from beistand.organisation import importer

    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    rooms, _ = timed("rooms", make_places)
    directory = Path(tmp.name)
    paths, n_units, n_emps = write_files(directory, args.employees, rooms, rng)
    rows = n_units + n_emps
    log(f"{n_units} units, {n_emps} employees")

    dry, dry_s = timed("dry run", lambda: importer.import_paths(paths, dry_run=True))
    assert dry.ok and dry.employees.created == n_emps, dry.as_text()[:2000]
    first, first_s = timed("first import", lambda: importer.import_paths(paths))
    assert first.ok and first.employees.created == n_emps and first.written
    again, again_s = timed("re-import (unchanged)", lambda: importer.import_paths(paths))
    assert again.employees.unchanged == n_emps and not again.written
    paths, *_ = write_files(directory, args.employees, rooms, random.Random(args.seed),
                            changed=0.10)
    upd, upd_s = timed("re-import (10 % changed)", lambda: importer.import_paths(paths))
    assert upd.ok and upd.employees.updated > 0
    result, verify_s = timed("audit verify", verify_chain)
    assert result.ok

    figures = {
        "bench": "import_org",
        "database": "sqlite",
        "python": platform.python_version(),
        "units": n_units,
        "employees": n_emps,
        "dry_run_s": round(dry_s, 2),
        "first_import_s": round(first_s, 2),
        "first_rows_per_s": round(rows / first_s),
        "reimport_s": round(again_s, 2),
        "reimport_rows_per_s": round(rows / again_s),
        "update_s": round(upd_s, 2),
        "updated_employees": upd.employees.updated,
        "update_rows_per_s": round(rows / upd_s),
        "audit_rows": result.checked,
        "verify_s": round(verify_s, 2),
    }
    tmp.cleanup()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
