"""Benchmark of the register look-up: latency, recall and precision on spelling variants.

Builds a register of ``--persons`` persons (default 1,000,000) with realistic German and
international names (German, Turkish, Polish, Arabic, Russian, Italian/Greek/Balkan names; double
names, name particles, birth names, aliases), dates of birth and current addresses, on a throw-away
database: SQLite (default, temporary directory) or ``--database-url postgres://.../NEW_DB`` (the
database must not exist; it is created and dropped, as in ``audit_chain.py``).

Rows are written with bulk inserts (not the audited ORM path; the bench measures look-ups, not
the import), and the search keys come from the same ``matching.person_keys`` that
``rebuild_keys`` uses. Then ``--lookups`` look-ups (default 1000) run through the real service
``lookup.lookup_person`` (validation, key probes, scoring, access-log row and audit event, one
transaction each): 90 % spelling variants of a random registered person, 10 % unrelated names.

Definitions (see docs/performance.md):

* recall: share of variant look-ups whose intended person is among the returned candidates;
* precision: share of all returned candidates (variant and unrelated look-ups) that are the
  intended person or a true homonym (a person who agrees with the intended person's normalised
  surname, first given name and date of birth in every field the query gives; for an unrelated
  query, with the query itself);
* look-ups with name and first name only (no date of birth, no address) cannot single a person
  out in a large register; they are measured but reported separately (``name_only_*``);
* p50_ms / p99_ms: wall time of one ``lookup_person`` call.

Progress goes to stderr; the figures are printed as JSON on the last line of stdout.

    .venv/bin/python bench/lookup.py --persons 100000
    .venv/bin/python bench/lookup.py --database-url postgres://postgres@127.0.0.1:5432/beistand_bench_lookup
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_database_url, check_database_url, log, percentile, run_lookups_in_scratch

# --- Name material ---------------------------------------------------------------------------


def words(text, sep=None):
    return text.split(sep)

# Frequent surnames and given names by origin (spellings as registered by German authorities).

GERMAN = words("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer "
          "Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger "
          "Hofmann Hartmann Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze "
          "Maier Köhler Herrmann König Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller "
          "Weiß Jung Hahn Schubert Vogel Friedrich Keller Günther Frank Berger Winkler Roth "
          "Beck Lorenz Baumann Franke Albrecht Schuster Simon Ludwig Böhm Winter Kraus Martin "
          "Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel Heinrich Brandt Haas "
          "Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch Bergmann "
          "Thomas Voigt Sauer Arnold Wolff Pfeiffer Strauß Göbel Lindner Ebert Kessler Nowak")
TURKISH = words("Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan "
           "Kılıç Aslan Çetin Kara Koç Kurt Özkan Şimşek Polat Özcan Korkmaz Çakır Erdoğan "
           "Yavuz Can Acar Güneş Aksoy")
POLISH = words("Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński "
          "Szymański Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk "
          "Piotrowski Grabowski Pawłowski Michalski Król Wieczorek Jabłoński Wróbel")
ARABIC = words("Al-Hassan Hassan Hussein Ibrahim Mahmoud Mohammed Ahmad Ali Khalil Saleh Haddad "
          "Nasser Abbas Omar Mustafa Rahman Karim Yousef Aziz Hamdan El-Amin Al-Masri Darwish "
          "Suleiman Qasim Othman")
RUSSIAN = words("Iwanow Smirnow Kusnezow Popow Wassiljew Petrow Sokolow Michailow Nowikow Fjodorow "
           "Morosow Wolkow Alexejew Lebedew Semjonow Jegorow Pawlow Koslow Stepanow Nikolajew "
           "Schewtschenko Bondarenko Kowalenko Tkatschenko Krawtschenko")
OTHER = words("Rossi Russo Esposito Bianchi Romano Colombo Papadopoulos Georgiou Nikolaidis "
         "Jovanović Petrović Nikolić Marković Đorđević Popescu Ionescu Horvat Kovačević "
         "Nguyen Tran Santos Ferreira Silva Pereira")
PARTICLED = ["von der Heide", "von Bergen", "van Dyk", "de Vries", "van der Berg", "zu Dohna",
             "von Stein", "de Boer", "van Leeuwen", "von Arnim", "di Stefano", "da Costa",
             "El Khatib", "Al Zein"]
PREFIXES = words("Hohen Linde Brandt Rosen Schön Eichen Stein Wald Berg Kirch Feld Mühl Wies Neu "
            "Alten Buch Hassel Lichten Stern Fried Bären Falken Hirsch Löwen Rehs Tann Sommer "
            "Winter Grün Roth Weiß Schwarz Kalten Wasser Brunn Holz Eisen Silber Gold")
SUFFIXES = words("berg mann feld bach hof meier müller dorf thal heim stein wald brink kamp horst "
            "hausen busch bruch mayer schmidt beck ke ler ner ing rath")

GIVEN = {
    "de": words("Thomas Michael Andreas Stefan Peter Christian Klaus Jürgen Frank Uwe Wolfgang "
                "Hans Markus Sven Jan Lukas Leon Paul Felix Maximilian Jonas Tim Tobias Daniel "
                "Sebastian Dirk Ralf Jörg Günter Karl Heinz Maria Anna Ursula Monika Petra "
                "Sabine Claudia Susanne Andrea Birgit Katrin Julia Laura Lena Sophie Hannah "
                "Marie Emma Lea Sarah Christina Nicole Stefanie Jessica Jennifer Renate Ingrid "
                "Gisela Helga Brigitte Björn Sören Jens Nils Matthias Philipp Christoph Florian "
                "Alexander Dominik Manfred Dieter Horst Werner Gerhard Bernd Rainer Holger "
                "Volker Olaf Torsten Carsten Marco Kevin Dennis Patrick Marcel Benjamin Niklas "
                "Moritz Elias Noah Ben Finn Luis Emil Anton Henry Oskar Theo Karin Gabriele "
                "Angelika Heike Silke Anja Tanja Melanie Kerstin Martina Sandra Simone Nadine "
                "Yvonne Daniela Sina Mia Clara Ida Lina Frieda Greta Mila Charlotte Amelie "
                "Johanna Luisa Paula Elisabeth Erika Waltraud Hildegard Elke Doris Bärbel"),
    "tr": words("Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim İsmail Osman Yusuf Murat Ömer "
                "Emre Burak Kemal Cem Deniz Serkan Volkan Tolga Erkan Hakan Kadir Orhan Fatma "
                "Ayşe Emine Hatice Zeynep Elif Merve Özlem Gülşen Şükrü Çağlar"),
    "pl": words("Piotr Krzysztof Andrzej Tomasz Paweł Marcin Michał Łukasz Grzegorz Wojciech Anna "
           "Katarzyna Małgorzata Agnieszka Barbara Ewa Magdalena Joanna Żaneta"),
    "ar": words("Mohammed Ahmad Mahmoud Omar Khaled Youssef Ibrahim Hassan Karim Samir Tarek "
           "Fatima Aisha Mariam Layla Nour Rania Samira Yasmin Hamza Bilal"),
    "ru": words("Sergej Alexander Dmitrij Andrej Wladimir Nikolaj Juri Igor Oleg Iwan Jelena "
           "Tatjana Natalja Olga Swetlana Irina Anastasia Jekaterina Ljudmila Walentina"),
}
# Synthetic long tails: real registers hold hundreds of thousands of distinct surnames; short
# lists of frequent names alone would make every name far more frequent than in reality.
TAILS = {
    "de": (PREFIXES, SUFFIXES),
    "tr": (words("Kara Öz Ak Gül Er Ay Yıl Demir Kaya Tür Çak Uz Şen Can Ko Al Bay Kıl Tek Dur "
                 "Gök Tun Ars Bul Sarı Ün"),
           words("han can demir türk kaya soy doğan taş er el gün oğlu ay kan alp")),
    "pl": (words("Nowak Kowal Wiśniew Wójc Kamiń Lewandow Zieliń Szymań Woźn Dąbrow Kozłow "
                 "Jankow Mazur Kwiatkow Krawc Piotrow Grabow Pawłow Michal Król Wieczor Jabłoń "
                 "Wróbl Zając Stęp Dud Adamcz Pawl Sikor Baran Rutk Ostrow"),
           words("ski ska czyk ak ewicz iak ecki")),
    "ru": (words("Iwan Smirn Kusnez Pop Wassil Petr Sokol Michail Nowik Fjodor Moros Wolk "
                 "Alexej Lebed Semjon Jegor Pawl Kosl Stepan Nikolaj Bondar Kowal Tkatsch "
                 "Krawtsch Schewtsch Orl Sajz Gusew Titow Kusmin"),
           words("ow ew in enko uk ski")),
    "ar": (words("Al- El- Abu- Bin-"),
           words("Hassan Hussein Ibrahim Mahmoud Ahmad Khalil Saleh Haddad Nasser Abbas Omar "
                 "Mustafa Rahman Karim Yousef Aziz Hamdan Amin Masri Darwish Suleiman Qasim "
                 "Othman Jaber Najjar Khoury Saad Zaid Farah Hamid Rashid Said")),
}
# (origin, frequent surnames or None for the synthetic tail, share of persons). About 0.6 % of
# all persons are called Müller (in Germany 0.3 %); the most frequent given name of an origin
# group covers about 2–8 % of it.
ORIGINS = [("de", GERMAN, 0.12), ("de", None, 0.46), ("tr", TURKISH, 0.06), ("tr", None, 0.06),
           ("pl", POLISH, 0.035), ("pl", None, 0.035), ("ar", ARABIC, 0.035),
           ("ar", None, 0.035), ("ru", RUSSIAN, 0.035), ("ru", None, 0.035),
           ("de", OTHER, 0.05), ("de", PARTICLED, 0.03)]

STREETS = words("Hauptstraße|Bahnhofstraße|Gartenstraße|Schulstraße|Dorfstraße|Bergstraße|"
                "Lindenstraße|Kirchstraße|Waldstraße|Ringstraße|Mühlenweg|Am Markt|"
                "Friedrichstraße|Goethestraße|Schillerstraße|Wilhelmstraße|Jahnstraße|"
                "Kölner Straße|Venloer Straße|Aachener Straße|Severinstraße|Neusser Straße|"
                "Rheinallee|Parkweg|Birkenweg|Rosenweg|Eichendorffstraße|Mozartstraße|"
                "Beethovenstraße|Kantstraße", "|")
POSTAL_CODES = [f"{10000 + i * 22:05d}" for i in range(4000)]  # 4000 five-digit codes


def zipf_choice(rng, items, s):
    # Frequent names first in each list: rank-weighted choice, computed once per list.
    cache = zipf_choice.cache
    key = id(items)
    if key not in cache:
        weights = [1 / (r + 1) ** s for r in range(len(items))]
        cache[key] = (items, weights)
    return rng.choices(items, cache[key][1])[0]


zipf_choice.cache = {}


def make_identity(rng):
    """(last_name, first_names, birth_name, aliases, dob, address or None)."""
    origin, names, _ = rng.choices(ORIGINS, [o[2] for o in ORIGINS])[0]
    if names is None:
        heads, tails = TAILS[origin]
        last = f"{rng.choice(heads)}{rng.choice(tails).lower()}"
        if origin == "ar":
            last = f"{last[:-len(last.split('-', 1)[1])]}{last.split('-', 1)[1].capitalize()}"
    else:
        last = zipf_choice(rng, names, 0.5)
    if rng.random() < 0.08:
        last = f"{last}-{zipf_choice(rng, GERMAN if origin == 'de' else names or GERMAN, 0.5)}"
    given = GIVEN[origin]
    first = zipf_choice(rng, given, 0.4)
    if rng.random() < 0.3:
        first = f"{first} {zipf_choice(rng, given, 0.4)}"
    birth = zipf_choice(rng, GERMAN, 0.5) if rng.random() < 0.08 else ""
    aliases = [f"{zipf_choice(rng, given, 0.4)} {zipf_choice(rng, names or GERMAN, 0.5)}"] \
        if rng.random() < 0.03 else []
    dob = date(1940, 1, 1) + timedelta(days=rng.randrange(66 * 365))
    address = None
    if rng.random() < 0.8:
        address = (rng.choice(STREETS), str(rng.randrange(1, 120)),
                   rng.choice(POSTAL_CODES))
    return last, first, birth, aliases, dob, address


# --- Spelling variants ----------------------------------------------------------------------

NAME_PARTICLES = {"von", "der", "van", "de", "zu", "di", "da", "el", "al"}

RESPELL = [("ei", "ai"), ("ai", "ei"), ("ey", "ei"), ("ay", "ei"), ("ie", "i"), ("dt", "tt"),
           ("tt", "dt"), ("ff", "f"), ("mm", "m"), ("nn", "n"), ("ll", "l"), ("ss", "s"),
           ("ck", "k"), ("tz", "z"), ("th", "t"), ("ph", "f"), ("w", "v"), ("ow", "off"),
           ("sch", "sh"), ("j", "y"), ("k", "c")]
TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe",
                          "Ü": "Ue", "ı": "i", "İ": "I", "ş": "s", "Ş": "S", "ç": "c",
                          "Ç": "C", "ğ": "g", "ł": "l", "Ł": "L", "ń": "n", "ś": "s",
                          "ź": "z", "ż": "z", "Ż": "Z", "ą": "a", "ę": "e", "ó": "o",
                          "ć": "c", "č": "c", "š": "s", "đ": "dj", "Đ": "Dj"})
PLAIN = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U"})


def respell(rng, name):
    options = [(a, b) for a, b in RESPELL if a in name.lower()]
    if not options:
        return name.translate(TRANSLIT)
    a, b = rng.choice(options)
    i = name.lower().index(a)
    return name[:i] + b + name[i + len(a):]


def typo(rng, name):
    i = rng.randrange(1, max(2, len(name) - 1))
    kind = rng.choice(["sub", "del", "swap"])
    if kind == "sub":
        return name[:i] + rng.choice("aeinrst") + name[i + 1:]
    if kind == "del":
        return name[:i] + name[i + 1:]
    return name[:i - 1] + name[i] + name[i - 1] + name[i + 1:] if i < len(name) else name


def wrong_digit(rng, dob):
    text = dob.strftime("%Y%m%d")
    for _ in range(50):
        pos = rng.randrange(2, 8)
        digit = str(rng.randrange(10))
        candidate = text[:pos] + digit + text[pos + 1:]
        if candidate == text:
            continue
        try:
            wrong = date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:8]))
        except ValueError:
            continue
        if wrong < date.today():
            return wrong
    return dob


def variant_query(rng, ident):
    """A query for the person with one realistic deviation, and the deviation's name."""
    last, first, birth, aliases, dob, address = ident
    first_given = first.split()[0]
    q = {"last_name": last, "first_name": first_given, "date_of_birth": dob}
    kinds = ["umlaut", "respell", "typo", "swapped", "dob_digit", "dob_swap", "part",
             "particle", "plain", "address", "name_only", "exact"]
    if birth:
        kinds.append("birth_name")
    if aliases:
        kinds.append("alias")
    kind = rng.choice(kinds)
    if kind == "umlaut":
        q["last_name"] = last.translate(TRANSLIT)
        q["first_name"] = first_given.translate(TRANSLIT)
    elif kind == "plain":
        q["last_name"] = last.translate(PLAIN).translate(TRANSLIT)
    elif kind == "respell":
        q["last_name"] = respell(rng, last)
    elif kind == "typo":
        q["last_name"] = typo(rng, last)
    elif kind == "swapped":
        q["last_name"], q["first_name"] = first_given, last
    elif kind == "dob_digit":
        q["date_of_birth"] = wrong_digit(rng, dob)
    elif kind == "dob_swap":
        if dob.day <= 12 and dob.day != dob.month:
            q["date_of_birth"] = date(dob.year, dob.day, dob.month)
        else:
            kind = "exact"
    elif kind == "part":
        parts = [p for p in last.replace("-", " ").split() if p.lower() not in NAME_PARTICLES]
        q["last_name"] = rng.choice(parts)
    elif kind == "particle":
        q["last_name"] = last.split()[-1]
    elif kind == "birth_name":
        q["last_name"] = birth
    elif kind == "alias":
        alias_first, _, alias_last = aliases[0].partition(" ")
        q["last_name"], q["first_name"] = alias_last, alias_first
    elif kind == "address":
        if address:
            del q["date_of_birth"]
            del q["first_name"]
            q["street"] = address[0].replace("straße", "str.").replace("Straße", "Str.")
            q["postal_code"] = address[2]
        else:
            kind = "exact"
    elif kind == "name_only":
        # Name and first name only: in a large register this cannot single a person out
        # (homonyms); measured separately.
        del q["date_of_birth"]
    return kind, q


# --- Build ------------------------------------------------------------------------------------

def build(n, seed, batch=20_000, make=None):
    """Bulk-load ``n`` persons made by ``make(rng)`` (default ``make_identity``)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from beistand.register.matching import Identity, person_keys

    rng = random.Random(seed)
    identities = []
    vendor = connection.vendor
    now = timezone.now()
    today = timezone.localdate()
    with connection.cursor() as cursor:
        # Rebuilding the key index after the load is much faster than maintaining it per row.
        cursor.execute("DROP INDEX register_key_lookup")
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        persons, addresses, keys = [], [], []
        for pid in range(start + 1, min(n, start + batch) + 1):
            ident = (make or make_identity)(rng)
            identities.append(ident)
            last, first, birth, aliases, dob, address = ident[:6]
            persons.append((pid, last, first, birth, json.dumps(aliases), dob, "active", "",
                            2, today, today + timedelta(days=730), today + timedelta(days=1825),
                            now, now))
            addrs = []
            if address:
                addresses.append((pid, address[0], address[1], address[2], "", None))
                addrs = [(address[0], address[1], address[2])]
            for kind, value in person_keys(Identity(last, first, birth, aliases, dob, addrs)):
                keys.append((pid, kind, value))
        with transaction.atomic():
            _insert(vendor, "register_registerperson",
                    "id, last_name, first_names, birth_name, aliases, date_of_birth, status, "
                    "status_reason, hazard_level, last_incident_on, review_on, delete_on, "
                    "created_at, updated_at", persons)
            _insert(vendor, "register_registeraddress",
                    "person_id, street, house_number, postal_code, city, valid_from", addresses)
            _insert(vendor, "register_searchkey", "person_id, kind, value", keys)
        done = min(n, start + batch)
        if done % 100_000 == 0 or done == n:
            log(f"  {done} persons ({time.perf_counter() - t0:.0f} s)")
    log("indexing search keys ...")
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX register_key_lookup ON register_searchkey (kind, value)")
        if vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence('register_registerperson', "
                           "'id'), %s)", [n])
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return identities, time.perf_counter() - t0


def _insert(vendor, table, columns, rows):
    from django.db import connection

    if not rows:
        return
    if vendor == "postgresql":
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg 3: COPY is the fast bulk path
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    marks = ", ".join(["%s"] * len(rows[0]))
    rows = [tuple(_sqlite_value(v) for v in row) for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def _sqlite_value(value):
    # The same text forms Django's SQLite backend writes (UTC, naive) for dates and times.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- Measure ----------------------------------------------------------------------------------

def same_as(ident, last, first, dob):
    """True if ``ident`` agrees with the given (normalised) fields; None means "not asked"."""
    from beistand.register.matching import normalise

    if normalise(ident[0]) != normalise(last):
        return False
    if first is not None and normalise(ident[1].split()[0]) != normalise(first.split()[0]):
        return False
    return dob is None or ident[4] == dob


def run(args):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from beistand.accounts.models import RoleGrant
    from beistand.accounts.roles import Role
    from beistand.register import lookup
    from beistand.register.matching import normalise
    from beistand.register.models import RegisterPerson

    call_command("migrate", verbosity=0, interactive=False)
    log(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    log(f"building {args.persons} persons ...")
    identities, build_seconds = build(args.persons, args.seed)
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        user = get_user_model().objects.create_user("bench-abfrage", password=None)
        RoleGrant.objects.create(user=user, role=Role.QUERIER, reason="Benchmark",
                                 expires_at=timezone.now() + timedelta(days=1))

    rng = random.Random(args.seed + 1)
    noise = random.Random(args.seed + 2)

    # Warm-up: a running server has the index pages in memory; a fresh bench database does not.
    warm = random.Random(args.seed + 3)
    log(f"warming up with {args.warmup} look-ups (not measured) ...")
    for _ in range(args.warmup):
        last, first, _, _, dob, _ = identities[warm.randrange(len(identities))]
        lookup.lookup_person(user, "Benchmark Aufwärmen", last, first.split()[0], dob)
    surnames = Counter(normalise(i[0]) for i in identities)
    given_names = Counter(normalise(i[1].split()[0]) for i in identities)
    latencies, hits, variants, returned, relevant = [], 0, 0, 0, 0
    misses, by_kind, slowest = {}, {}, []
    log(f"running {args.lookups} look-ups ...")
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    for i in range(args.lookups):
        unrelated = i % 10 == 9
        if unrelated:
            last, first, _, _, dob, _ = make_identity(noise)
            kind, query = "unrelated", {"last_name": last, "first_name": first.split()[0],
                                        "date_of_birth": dob}
            intended = None
            # Relevant: a registered person who really has that name and date of birth.
            truth = (last, first, dob)
        else:
            intended = rng.randrange(1, args.persons + 1)
            ident = identities[intended - 1]
            kind, query = variant_query(rng, ident)
            # Relevant besides the intended person: a true homonym, i.e. a person who agrees
            # with the intended person's identity in every field the query gives.
            truth = (ident[0], ident[1] if "first_name" in query else None,
                     ident[4] if "date_of_birth" in query else None)
        t = time.perf_counter()
        result = lookup.lookup_person(user, "Benchmark Az. 1/2026", **query)
        latencies.append(time.perf_counter() - t)
        slowest.append((latencies[-1], kind, len(result["candidates"])))
        ids = [c["entry_id"] for c in result["candidates"]]
        good = sum(1 for pid in ids if pid == intended or same_as(identities[pid - 1], *truth))
        if kind != "name_only":
            returned += len(ids)
            relevant += good
        per_kind = by_kind.setdefault(kind, [0, 0, 0])
        per_kind[0] += 1
        per_kind[1] += len(ids)
        per_kind[2] += good
        if args.verbose and len(ids) > good:
            extra = [(identities[p - 1][:2], identities[p - 1][4], c["score"])
                     for p, c in zip(ids, result["candidates"], strict=True) if p != intended]
            log(f"  {kind} {query} -> intended "
                f"{identities[intended - 1] if intended else None}; extra {extra[:3]}")
        if intended is not None and kind != "name_only":
            variants += 1
            if intended in ids:
                hits += 1
        if intended is not None and intended not in ids:
            misses.setdefault(kind, []).append(query)
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    latencies.sort()
    slowest.sort(reverse=True)
    log("  slowest: " + ", ".join(f"{ms * 1000:.0f} ms {kind} ({n})"
                                  for ms, kind, n in slowest[:8]))
    name_only = by_kind.get("name_only", [0, 0, 0])
    name_only_hits = name_only[0] - len(misses.get("name_only", []))
    assert RegisterPerson.objects.count() == args.persons
    for kind, (n, shown, good) in sorted(by_kind.items()):
        log(f"  {kind}: {n} look-ups, {shown} shown, {good} relevant")
    for kind, queries in sorted(misses.items()):
        log(f"  missed {kind}: {len(queries)}, e.g. {queries[0]}")
    return {
        "persons": args.persons,
        "lookups": args.lookups,
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "recall": round(hits / variants, 4) if variants else None,
        "precision": round(relevant / returned, 4) if returned else None,
        "name_only_lookups": name_only[0],
        "name_only_recall": round(name_only_hits / name_only[0], 4) if name_only[0] else None,
        "name_only_precision": round(name_only[2] / name_only[1], 4) if name_only[1] else None,
        "top_surname_share": round(surnames.most_common(1)[0][1] / len(identities), 4),
        "top_given_name_share": round(given_names.most_common(1)[0][1] / len(identities), 4),
        "warmup_lookups": args.warmup,
        "database": connection.vendor,
        "build_seconds": round(build_seconds, 1),
        "max_ms": round(latencies[-1] * 1000, 2),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=200,
                        help="unmeasured look-ups first (default 200)")
    parser.add_argument("--verbose", action="store_true",
                        help="log every look-up that showed an irrelevant candidate")
    parser.add_argument("--profile", action="store_true",
                        help="profile the look-ups (cProfile, to stderr)")
    add_database_url(parser)
    args = parser.parse_args(argv)
    if args.persons < 1 or args.lookups < 1:
        parser.error("--persons and --lookups must be positive")
    check_database_url(parser, args)
    return args


def main(argv=None):
    run_lookups_in_scratch(parse_args(argv), run)


if __name__ == "__main__":
    main()
