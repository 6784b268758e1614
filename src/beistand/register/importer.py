"""Import of a legacy register from CSV (``beistand import-register FILE.csv``).

Format: docs/register.md, "Legacy import". Every row is validated (German reasons, with the line
number); valid rows become a ``RegisterPerson`` with its current address, one
``RegisterEntry(source=import)`` carrying the hazard level, offence categories and date of the
last incident, the recommended measures and the search keys. Only rows without a name, or with
invalid data (dates, codes, levels, lengths), are rejected: a row with an incomplete address is
imported without the address, and a row with only a last name is imported, each with a warning.
Idempotent: the natural key is the normalised last name + first names + date of birth (without
a date of birth: + current address); a person already in the register (or twice in the file)
creates nothing. Persons who may be the same (same names, dates of birth equal or missing on
one side) are imported as separate persons and listed as possible duplicates for the ZKS to
review — never merged automatically.

Built for 1,000,000 rows: the file is streamed, rows are written in chunks of ``CHUNK`` per
transaction with ``bulk_create``. Everything that needs no database (validation, the search keys
of the matching model) is computed before a chunk's transaction, and a chunk is small, so the
write lock (SQLite) and the audit head's row lock (PostgreSQL) are held only for the inserts:
an alarm raised during an import waits tens of milliseconds, not seconds.

``bulk_create`` does not fire the audit signals, so instead of one audit row per created object
the importer writes ONE audit summary row per chunk (file name, line range, counts; no personal
data). This is deliberate: a per-row audit would multiply
the import time and copy the whole legacy register into the audit trail.
"""

from __future__ import annotations

import codecs
import csv
import re
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from beistand.audit import services as audit
from beistand.organisation.importer import (
    DELIMITERS,
    ImportFileError,
    map_header,
    sniff_delimiter,
)
from beistand.register import matching
from beistand.register.models import (
    ProtectiveMeasure,
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
    SearchKey,
)
from beistand.register.rights import ALIAS_LENGTH, MAX_ALIASES
from beistand.reports.models import Offence

# Rows per transaction: about 40 ms of inserts on SQLite (persons, addresses, entries, links and
# about ten search keys each); larger chunks barely speed the import up but hold the lock longer.
CHUNK = 250
LIST_SEPARATOR = "|"

# Canonical column -> accepted header spellings (after _norm_header).
COLUMNS: dict[str, tuple[str, ...]] = {
    "last_name": ("lastname", "name", "nachname", "familienname"),
    "first_names": ("firstnames", "firstname", "vornamen", "vorname"),
    "birth_name": ("birthname", "geburtsname"),
    "aliases": ("aliases", "alias", "aliasnamen", "weiterenamen"),
    "date_of_birth": ("dateofbirth", "geburtsdatum", "gebdatum"),
    "street": ("street", "strasse"),
    "house_number": ("housenumber", "hausnummer", "hausnr", "nr"),
    "postal_code": ("postalcode", "plz", "postleitzahl"),
    "city": ("city", "ort", "wohnort", "stadt"),
    "hazard_level": ("hazardlevel", "gefaehrdungsstufe", "stufe"),
    "offence_codes": ("offencecodes", "offences", "delikte", "deliktkennungen"),
    "last_incident_on": ("lastincidenton", "letztervorfall", "vorfalldatum", "vorfall"),
    "measures": ("measures", "massnahmen", "schutzmassnahmen"),
}
REQUIRED = ("last_name", "hazard_level", "last_incident_on")
LABELS = {
    "last_name": "Name", "first_names": "Vornamen", "birth_name": "Geburtsname",
    "aliases": "weitere Namen", "date_of_birth": "Geburtsdatum", "street": "Straße",
    "house_number": "Hausnummer", "postal_code": "PLZ", "city": "Ort",
    "hazard_level": "Gefährdungsstufe", "offence_codes": "Delikte",
    "last_incident_on": "letzter Vorfall", "measures": "Schutzmaßnahmen",
}
MAX_LENGTHS = {"last_name": 100, "first_names": 150, "birth_name": 100, "street": 150,
               "house_number": 20, "postal_code": 10, "city": 100}


def _norm(text: str) -> str:
    return " ".join(matching.normalise(part) for part in (text or "").split())


def name_key(last_name: str, first_names: str) -> str:
    """Case-, space- and umlaut-insensitive names (possible duplicates share it)."""
    return f"{_norm(last_name)}|{_norm(first_names)}"


def address_key(street: str, postal_code: str) -> str:
    if not (street and postal_code):
        return ""
    return f"{matching.normalise_street(street)}|{matching.normalise_postal_code(postal_code)}"


def natural_key(last_name: str, first_names: str, date_of_birth: date | None,
                address: str = "") -> str:
    """Identity of a row for idempotency: names and date of birth; without a date of birth,
    names and the current address (``address_key``). Two namesakes without a date of birth at
    different addresses are two persons (listed as possible duplicates), not one."""
    if date_of_birth is not None:
        return f"{name_key(last_name, first_names)}|{date_of_birth}|"
    return f"{name_key(last_name, first_names)}||{address}"


def parse_date(text: str) -> date:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", text):
        return datetime.strptime(text, "%d.%m.%Y").date()
    raise ValueError(text)


# --- Report -------------------------------------------------------------------------------------

@dataclass
class Rejection:
    line: int
    reasons: list[str]

    def as_text(self) -> str:
        return f"Zeile {self.line}: {'; '.join(self.reasons)}"


@dataclass
class RowWarning:
    """A row that was imported, but with something for the ZKS to know or check."""

    line: int
    reasons: list[str]

    def as_text(self) -> str:
        return f"Zeile {self.line}: {'; '.join(self.reasons)}"


@dataclass
class ImportReport:
    file: str
    dry_run: bool = False
    rows: int = 0
    created: int = 0
    existing: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)
    # (line, "Zeile N" or "Person Nr. N") of every row that may be a person already there.
    possible_duplicates: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.rejections

    def as_text(self, max_rejections: int = 1000) -> str:
        verb = "würden übernommen" if self.dry_run else "übernommen"
        lines = [f"{self.file}: {self.rows} Zeilen, {self.created} Personen {verb}, "
                 f"{self.existing} bereits im Register, {len(self.rejections)} abgelehnt, "
                 f"{len(self.warnings)} mit Hinweis ({self.seconds:.1f} s)"]
        if self.ignored_columns:
            lines.append("Unbekannte Spalten (ignoriert): " + ", ".join(self.ignored_columns))
        if self.rejections:
            lines.append(f"Abgelehnte Zeilen ({len(self.rejections)}):")
            lines += [f"  {r.as_text()}" for r in self.rejections[:max_rejections]]
            if len(self.rejections) > max_rejections:
                lines.append(f"  … und {len(self.rejections) - max_rejections} weitere")
        if self.warnings:
            lines.append(f"Übernommen mit Hinweis ({len(self.warnings)}; mögliche Dubletten "
                         "bitte durch die ZKS prüfen und ggf. zusammenführen):")
            lines += [f"  {w.as_text()}" for w in self.warnings[:max_rejections]]
            if len(self.warnings) > max_rejections:
                lines.append(f"  … und {len(self.warnings) - max_rejections} weitere")
        return "\n".join(lines)


# --- Reading ------------------------------------------------------------------------------------

def _detect_encoding(path: Path, encoding: str | None) -> str:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ImportFileError(f"Unbekannte Zeichenkodierung „{encoding}“.") from None
        return encoding
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        fh.seek(0)
        # Streamed check: the whole file must be valid UTF-8, else it is Windows-1252.
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"


def _open_rows(path: Path, delimiter: str | None, encoding: str | None):
    enc = _detect_encoding(path, encoding)
    try:
        fh = path.open("r", encoding=enc, newline="")
        first = fh.readline()
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"Die Datei ist nicht in {enc} kodiert. Bitte --encoding "
                              "angeben.") from exc
    if not first.strip():
        fh.close()
        raise ImportFileError("Die Datei ist leer oder die erste Zeile (Kopfzeile) fehlt.")
    if delimiter is None:
        delimiter = sniff_delimiter(
            first, tuple(d for d in DELIMITERS if d != LIST_SEPARATOR))
    if delimiter == LIST_SEPARATOR:
        fh.close()
        raise ImportFileError("„|“ trennt Listen innerhalb einer Spalte und kann nicht das "
                              "Trennzeichen der Spalten sein.")
    header = next(csv.reader([first.lstrip("\ufeff")], delimiter=delimiter))
    try:
        mapping, ignored = map_header(header, COLUMNS, LABELS)
    except ImportFileError:
        fh.close()
        raise
    missing = [LABELS[c] + f" ({c})" for c in REQUIRED if c not in mapping.values()]
    if missing:
        fh.close()
        raise ImportFileError("Pflichtspalte(n) fehlen: " + ", ".join(missing))
    reader = csv.reader(fh, delimiter=delimiter)
    return fh, reader, mapping, ignored


# --- Validation ---------------------------------------------------------------------------------

@dataclass
class Planned:
    line: int
    key: str
    names: str
    last_name: str
    first_names: str
    birth_name: str
    aliases: list[str]
    date_of_birth: date | None
    address: tuple[str, str, str, str] | None
    hazard_level: int
    offences: list[str]
    last_incident_on: date
    measures: list[str]


def _split(text: str) -> list[str]:
    seen, out = set(), []
    for part in text.split(LIST_SEPARATOR):
        part = part.strip()
        if part and part not in seen:
            seen.add(part)
            out.append(part)
    return out


def validate_row(values: dict[str, str], line: int, offences: set[str], measures: set[str],
                 today: date) -> tuple[Planned | None, list[str], list[str]]:
    """(plan or None, errors that reject the row, warnings of an imported row)."""
    errors, warnings = [], []
    v = {k: (values.get(k) or "").strip() for k in COLUMNS}
    for col, limit in MAX_LENGTHS.items():
        if len(v[col]) > limit:
            errors.append(f"{LABELS[col]} ist länger als {limit} Zeichen")
    if not v["last_name"]:
        errors.append("Name fehlt")
    dates = {}
    for col in ("date_of_birth", "last_incident_on"):
        if not v[col]:
            dates[col] = None
            continue
        try:
            dates[col] = parse_date(v[col])
        except ValueError:
            errors.append(f"{LABELS[col]} „{v[col]}“ ist kein gültiges Datum "
                          "(JJJJ-MM-TT oder TT.MM.JJJJ)")
            dates[col] = None
    dob, incident = dates["date_of_birth"], dates["last_incident_on"]
    if not v["last_incident_on"]:
        errors.append("Datum des letzten Vorfalls fehlt")
    if v["last_name"] and not v["first_names"] and not v["date_of_birth"]:
        warnings.append("weder Vornamen noch Geburtsdatum – nur über Name und Anschrift zu "
                        "finden")
    if dob and dob > today:
        errors.append("Geburtsdatum liegt in der Zukunft")
    if incident and incident > today:
        errors.append("letzter Vorfall liegt in der Zukunft")
    if dob and incident and dob > incident:
        errors.append("letzter Vorfall liegt vor der Geburt")
    if incident and incident + timedelta(days=365 * settings.REGISTER_DELETE_YEARS) <= today:
        errors.append(f"Löschfrist ({settings.REGISTER_DELETE_YEARS} Jahre nach dem letzten "
                      "Vorfall) ist bereits abgelaufen – nicht übernehmen")
    level = None
    if not v["hazard_level"]:
        errors.append("Gefährdungsstufe fehlt")
    elif not re.fullmatch(r"\d", v["hazard_level"]) or int(v["hazard_level"]) > 3:
        errors.append(f"Gefährdungsstufe „{v['hazard_level']}“ ist nicht 0, 1, 2 oder 3")
    else:
        level = int(v["hazard_level"])
    offence_codes = _split(v["offence_codes"])
    unknown = [c for c in offence_codes if c not in offences]
    if unknown:
        errors.append("unbekannte Delikt-Kennung(en): " + ", ".join(unknown))
    measure_codes = _split(v["measures"])
    unknown = [c for c in measure_codes if c not in measures]
    if unknown:
        errors.append("unbekannte Schutzmaßnahme(n): " + ", ".join(unknown))
    aliases = _split(v["aliases"])
    if any(len(a) > ALIAS_LENGTH for a in aliases):
        errors.append(f"ein weiterer Name ist länger als {ALIAS_LENGTH} Zeichen")
    if len(aliases) > MAX_ALIASES:
        errors.append(f"zu viele weitere Namen ({len(aliases)}; höchstens {MAX_ALIASES})")
    address = None
    if any(v[c] for c in ("street", "house_number", "postal_code", "city")):
        # The person is imported without the address; a dangerous person must not be dropped
        # because the old system did not know the street.
        if not v["street"] or not v["postal_code"]:
            warnings.append("Anschrift unvollständig (Straße und PLZ sind nötig) – ohne "
                            "Anschrift übernommen")
        elif not re.fullmatch(r"\d{5}", v["postal_code"]):
            warnings.append(f"PLZ „{v['postal_code']}“ hat nicht fünf Ziffern – ohne Anschrift "
                            "übernommen")
        else:
            address = (v["street"], v["house_number"], v["postal_code"], v["city"])
    if errors:
        return None, errors, []
    key = natural_key(v["last_name"], v["first_names"], dob,
                      address_key(address[0], address[2]) if address else "")
    return Planned(line, key, name_key(v["last_name"], v["first_names"]), v["last_name"],
                   v["first_names"], v["birth_name"], aliases, dob, address, level,
                   offence_codes, incident, measure_codes), [], warnings


class _Seen:
    """Persons seen so far (register and file): natural keys for idempotency, and per names
    the (date of birth, reference) pairs for the possible-duplicate check."""

    def __init__(self):
        self.keys: set[str] = set()
        self.by_names: dict[str, list[tuple[date | None, str]]] = {}

    def add(self, key: str, names: str, dob: date | None, ref: str) -> None:
        self.keys.add(key)
        self.by_names.setdefault(names, []).append((dob, ref))

    def possible_duplicate(self, names: str, dob: date | None) -> str | None:
        """The first person with the same names whose date of birth agrees or is missing on
        either side (a missing date is neither for nor against)."""
        for other_dob, ref in self.by_names.get(names, ()):
            if dob is None or other_dob is None or other_dob == dob:
                return ref
        return None


def _existing() -> _Seen:
    seen = _Seen()
    addresses: dict[int, list[str]] = {}
    for pid, street, postal in (RegisterAddress.objects.filter(valid_to__isnull=True)
                                .values_list("person_id", "street", "postal_code")
                                .iterator(chunk_size=10000)):
        addresses.setdefault(pid, []).append(address_key(street, postal))
    rows = (RegisterPerson.objects.exclude(status=RegisterPerson.Status.DELETED)
            .filter(merged_into__isnull=True)
            .values_list("pk", "last_name", "first_names", "date_of_birth"))
    for pid, last, first, dob in rows.iterator(chunk_size=10000):
        names = name_key(last, first)
        for address in addresses.get(pid, [""]):
            seen.add(natural_key(last, first, dob, address), names, dob, f"Person Nr. {pid}")
    return seen


# --- Writing ------------------------------------------------------------------------------------

def _insert(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(f).column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        # Table and column names come from the models, values are parameters.
        sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
        cursor.executemany(sql, rows)


def _write_chunk(plans: list[Planned], file_name: str, chunk_no: int) -> None:
    review = timedelta(days=365 * settings.REGISTER_REVIEW_YEARS)
    delete = timedelta(days=365 * settings.REGISTER_DELETE_YEARS)
    # The search keys before the transaction: the matching model's phonetics are most of a
    # chunk's time, and need no database.
    plan_keys = []
    for p in plans:
        ident = matching.Identity(
            p.last_name, p.first_names, p.birth_name, p.aliases, p.date_of_birth,
            [p.address[:3]] if p.address else [])
        plan_keys.append(sorted(matching.person_keys(ident)))
    with audit.acting_as(audit.Actor(user=None, label=f"import-register:{file_name}"[:200])), \
            transaction.atomic():
        persons = RegisterPerson.objects.bulk_create([
            RegisterPerson(last_name=p.last_name, first_names=p.first_names,
                           birth_name=p.birth_name, aliases=p.aliases,
                           date_of_birth=p.date_of_birth, hazard_level=p.hazard_level,
                           last_incident_on=p.last_incident_on,
                           review_on=p.last_incident_on + review,
                           delete_on=p.last_incident_on + delete)
            for p in plans])
        RegisterAddress.objects.bulk_create([
            RegisterAddress(person=person, street=p.address[0], house_number=p.address[1],
                            postal_code=p.address[2], city=p.address[3])
            for p, person in zip(plans, persons, strict=True) if p.address])
        entries = RegisterEntry.objects.bulk_create([
            RegisterEntry(person=person, source=RegisterEntry.Source.IMPORT,
                          hazard_level=p.hazard_level, incident_date=p.last_incident_on)
            for p, person in zip(plans, persons, strict=True)])
        # Link tables and search keys are the bulk of the rows (about ten keys per person);
        # plain executemany avoids the ORM's per-object cost. None of them is audited.
        _insert(RegisterEntry.offences.through, ("registerentry_id", "offence_id"),
                [(entry.pk, code) for p, entry in zip(plans, entries, strict=True)
                 for code in p.offences])
        _insert(RegisterPerson.measures.through, ("registerperson_id", "protectivemeasure_id"),
                [(person.pk, code) for p, person in zip(plans, persons, strict=True)
                 for code in p.measures])
        keys = [(person.pk, k, v) for person, pairs in zip(persons, plan_keys, strict=True)
                for k, v in pairs]
        _insert(SearchKey, ("person_id", "kind", "value"), keys)
        # One summary row per chunk instead of per object (see module docstring).
        audit.record("register.import", object_type="register.registerperson",
                     object_repr=f"Übernahme {file_name}"[:300],
                     purpose="Übernahme aus Altregister",
                     after={"file": file_name, "chunk": chunk_no, "persons": len(persons),
                            "first_line": plans[0].line, "last_line": plans[-1].line,
                            "first_id": persons[0].pk, "last_id": persons[-1].pk,
                            "search_keys": len(keys)})


def import_register(path, *, dry_run: bool = False, delimiter: str | None = None,
                    encoding: str | None = None, stdout=None, today: date | None = None,
                    chunk: int = CHUNK) -> ImportReport:
    """Validate and import one CSV file; returns the report (rejected lines with reasons)."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"Die Datei „{path}“ gibt es nicht.")
    today = today or timezone.localdate()
    started = time.perf_counter()
    report = ImportReport(file=path.name, dry_run=dry_run)
    offences = set(Offence.objects.values_list("code", flat=True))
    measures = set(ProtectiveMeasure.objects.filter(active=True).values_list("code", flat=True))
    existing = _existing()
    in_file: dict[str, int] = {}
    file_seen = _Seen()
    fh, reader, mapping, ignored = _open_rows(path, delimiter, encoding)
    report.ignored_columns = ignored
    width = max(mapping) + 1 if mapping else 0
    pending: list[Planned] = []
    chunk_no = 0

    def say(text):
        if stdout is not None:
            stdout.write(text)

    def flush():
        nonlocal chunk_no
        if pending and not dry_run:
            chunk_no += 1
            _write_chunk(pending, path.name, chunk_no)
        report.created += len(pending)
        pending.clear()
        say(f"Zeile {reader.line_num + 1}: {report.created} übernommen, {report.existing} "
            f"vorhanden, {len(report.rejections)} abgelehnt")

    try:
        while True:
            try:
                raw = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                report.rows += 1
                report.rejections.append(Rejection(reader.line_num + 1,
                                                   [f"Zeile ist kein gültiges CSV ({exc})"]))
                continue
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"Nach Zeile {reader.line_num + 1} nicht in der Zeichenkodierung lesbar; "
                    f"bis dahin übernommen: {report.created} Person(en). Bitte --encoding "
                    "angeben und erneut importieren (bereits Übernommenes wird "
                    "übersprungen).") from exc
            line = reader.line_num + 1  # the header was read before the reader
            if not any(cell.strip() for cell in raw):
                continue
            report.rows += 1
            if len(raw) < width and len(raw) > 1:
                raw = raw + [""] * (width - len(raw))
            values = {canon: raw[i] for i, canon in mapping.items() if i < len(raw)}
            plan, errors, warnings = validate_row(values, line, offences, measures, today)
            if plan is not None:
                if plan.key in in_file:
                    errors = [f"Person doppelt in der Datei (wie Zeile {in_file[plan.key]})"]
                elif plan.key in existing.keys:
                    report.existing += 1
                    continue
            if errors:
                report.rejections.append(Rejection(line, errors))
                continue
            other = (file_seen.possible_duplicate(plan.names, plan.date_of_birth)
                     or existing.possible_duplicate(plan.names, plan.date_of_birth))
            if other:
                report.possible_duplicates.append((line, other))
                warnings.append(f"mögliche Dublette von {other} (gleicher Name und Vorname, "
                                "Geburtsdatum gleich oder nicht bekannt) – als "
                                "eigene Person übernommen, bitte durch die ZKS prüfen")
            if warnings:
                report.warnings.append(RowWarning(line, warnings))
            in_file[plan.key] = line
            file_seen.add(plan.key, plan.names, plan.date_of_birth, f"Zeile {line}")
            pending.append(plan)
            if len(pending) >= chunk:
                flush()
        flush()
    finally:
        fh.close()
    report.seconds = time.perf_counter() - started
    return report


def import_text(text: str, name: str = "import.csv", **kwargs) -> ImportReport:
    """Convenience for tests and the demo: import CSV text via a temporary file."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        return import_register(path, **kwargs)

