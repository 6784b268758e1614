"""Import of organisational units and employees from CSV files as HR/AD systems export them.

The format is described in ``docs/organisation-import.md``. In short: one file of units and/or
one file of employees; the kind of a file is recognised from its header (or forced by the
caller). Rows are matched by natural key (unit code, personnel number) and created, updated or
left unchanged. Every row is validated first; a rejected row is reported with its line number
and a German reason and never written. All valid rows are then written in ONE transaction, under
an audit actor naming the import, so each create/update lands in the audit chain with before and
after values. A dry run stops after validation and planning and writes nothing.

Performance: everything the validation needs (units, employees, rooms) is loaded once up front;
per row only the write itself (and its audit row) touches the database.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from beistand.audit import services as audit
from beistand.organisation import services
from beistand.organisation.models import Employee, OrgUnit, Room

UNITS = "units"
EMPLOYEES = "employees"
KIND_LABELS = {UNITS: "Organisationseinheiten", EMPLOYEES: "Beschäftigte"}


class ImportFileError(Exception):
    """A whole file cannot be used (unreadable, wrong encoding, missing columns). German text."""


def _norm_header(text: str) -> str:
    """'Personal-Nr.' -> 'personalnr', 'Außendienst' -> 'aussendienst', 'E-Mail' -> 'email'."""
    text = text.strip().lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    text = unicodedata.normalize("NFKD", text)
    return re.sub(r"[^a-z0-9]", "", text)


# Canonical column -> accepted header spellings (after _norm_header). English names are the
# documented ones; the German ones are what HR exports usually call the columns.
UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "kennung", "oekennung", "oe", "kuerzel", "einheit", "organisationseinheit"),
    "name": ("name", "bezeichnung"),
    "kind": ("kind", "art", "typ"),
    "parent_code": ("parentcode", "parent", "uebergeordnet", "uebergeordneteeinheit",
                    "uebergeordneteoe", "uebergeordnetekennung"),
    "head_personnel_number": ("headpersonnelnumber", "head", "leitung",
                              "leitungpersonalnummer", "leiterpersonalnummer",
                              "leiterinpersonalnummer"),
}
EMPLOYEE_COLUMNS: dict[str, tuple[str, ...]] = {
    "personnel_number": ("personnelnumber", "personalnummer", "persnr", "personalnr", "pnr"),
    "last_name": ("lastname", "name", "nachname", "familienname"),
    "first_name": ("firstname", "vorname"),
    "email": ("email", "mail", "emailadresse"),
    "service_phone": ("servicephone", "telefon", "diensttelefon", "tel", "telefonnummer"),
    "mobile_phone": ("mobilephone", "mobil", "diensthandy", "handy", "mobiltelefon"),
    "unit_code": ("unitcode", "unit", "oe", "oekennung", "organisationseinheit", "einheit"),
    "supervisor_personnel_number": ("supervisorpersonnelnumber", "supervisor", "vorgesetzte",
                                    "vorgesetzter", "vorgesetztepersonalnummer",
                                    "vorgesetzterpersonalnummer"),
    "site": ("site", "standort"),
    "building": ("building", "gebaeude"),
    "floor": ("floor", "etage", "geschoss", "stockwerk"),
    "room": ("room", "raum", "raumnummer"),
    "workstation": ("workstation", "arbeitsplatz", "arbeitsplatzkennung"),
    "field_service": ("fieldservice", "aussendienst"),
    "active": ("active", "aktiv"),
}
COLUMNS = {UNITS: UNIT_COLUMNS, EMPLOYEES: EMPLOYEE_COLUMNS}
REQUIRED = {
    UNITS: ("code", "name", "kind"),
    EMPLOYEES: ("personnel_number", "last_name", "first_name", "unit_code"),
}
COLUMN_LABELS = {
    "code": "Kennung", "name": "Bezeichnung", "kind": "Art", "parent_code": "übergeordnete Einheit",
    "head_personnel_number": "Leitung", "personnel_number": "Personalnummer",
    "last_name": "Name", "first_name": "Vorname", "email": "E-Mail",
    "service_phone": "Diensttelefon", "mobile_phone": "Diensthandy",
    "unit_code": "Organisationseinheit", "supervisor_personnel_number": "Vorgesetzte/r",
    "site": "Standort", "building": "Gebäude", "floor": "Etage", "room": "Raum",
    "workstation": "Arbeitsplatz", "field_service": "Außendienst", "active": "aktiv",
}
# Fields of a privileged role's holder that no import changes (accounts.identity_locked).
LOCKED_FIELDS = ("email", "mobile_phone")
MAX_LENGTHS = {
    "code": 30, "name": 200, "parent_code": 30, "head_personnel_number": 30,
    "personnel_number": 30, "last_name": 100, "first_name": 100, "email": 254,
    "service_phone": 40, "mobile_phone": 40, "unit_code": 30, "supervisor_personnel_number": 30,
    "workstation": 60,
}
TRUE_WORDS = frozenset({"ja", "j", "1", "true", "wahr", "x", "yes", "y"})
FALSE_WORDS = frozenset({"nein", "n", "0", "false", "falsch", "no", ""})
# Unit kinds by value and by German label, lower-cased.
UNIT_KINDS = {**{v: v for v in OrgUnit.Kind.values},
              **{str(label).lower(): v for v, label in OrgUnit.Kind.choices}}
DELIMITERS = (";", ",", "\t", "|")


# --- Reading ------------------------------------------------------------------------------------

@dataclass
class Row:
    line: int
    values: dict[str, str]
    too_many_fields: bool = False


@dataclass
class ParsedFile:
    name: str
    kind: str
    columns: frozenset[str]
    rows: list[Row]
    encoding: str
    delimiter: str
    ignored_columns: list[str] = field(default_factory=list)


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode file bytes: explicit encoding, else BOM (UTF-8/UTF-16), else UTF-8, else cp1252."""
    try:
        if encoding:
            text = data.decode(encoding)
            return text.removeprefix("\ufeff"), encoding
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8-sig"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            # Excel's "Unicode text" export.
            return data.decode("utf-16").removeprefix("\ufeff"), "utf-16"
    except LookupError as exc:
        raise ImportFileError(f"Unbekannte Zeichenkodierung „{encoding}“.") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"Die Datei ist nicht in {encoding or 'der erkannten Kodierung'} kodiert "
            f"(Byte {exc.start}). Bitte --encoding angeben.") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise ImportFileError("Die Zeichenkodierung der Datei ist nicht erkennbar (weder UTF-8 "
                              "noch Windows-1252). Bitte --encoding angeben.") from exc


def sniff_delimiter(header_line: str, candidates: tuple[str, ...] = DELIMITERS) -> str:
    """The candidate that occurs most often in the header (names never contain delimiters)."""
    counts = {d: header_line.count(d) for d in candidates}
    best = max(candidates, key=lambda d: counts[d])
    return best if counts[best] else ";"


def map_header(header: list[str], columns: dict[str, tuple[str, ...]],
               labels: dict[str, str]) -> tuple[dict[int, str], list[str]]:
    """Column index -> canonical name, and the header cells that match no column.

    ``columns`` maps each canonical name to its accepted spellings (after ``_norm_header``);
    two cells meaning the same column make the file unusable (ImportFileError).
    """
    lookup = {alias: canon for canon, aliases in columns.items() for alias in aliases}
    mapping: dict[int, str] = {}
    ignored = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(header):
        canon = lookup.get(_norm_header(raw))
        if canon is None:
            if raw.strip():
                ignored.append(raw.strip())
            continue
        if canon in seen:
            raise ImportFileError(f"Die Spalten „{seen[canon]}“ und „{raw.strip()}“ meinen "
                                  f"beide „{labels[canon]}“.")
        seen[canon] = raw.strip()
        mapping[index] = canon
    return mapping, ignored


def detect_kind(header: list[str]) -> str | None:
    normed = {_norm_header(h) for h in header}
    if normed & set(EMPLOYEE_COLUMNS["personnel_number"]):
        return EMPLOYEES
    if normed & set(UNIT_COLUMNS["code"]):
        return UNITS
    return None


def parse_text(text: str, name: str, kind: str | None = None, delimiter: str | None = None,
               encoding: str = "utf-8") -> ParsedFile:
    """Split CSV text into rows keyed by canonical column names."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise ImportFileError("Die Datei ist leer.")
    delimiter = delimiter or sniff_delimiter(first)
    if delimiter == "\\t":
        delimiter = "\t"
    if len(delimiter) != 1:
        raise ImportFileError("Das Trennzeichen muss genau ein Zeichen sein.")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[Row] = []
    last_line = 0
    try:
        for record in reader:
            start = last_line + 1
            last_line = reader.line_num
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue
                header = record
                kind = kind or detect_kind(header)
                if kind not in COLUMNS:
                    raise ImportFileError(
                        "Art der Datei nicht erkennbar: die Kopfzeile braucht die Spalte "
                        "„personnel_number“ (Beschäftigte) oder „code“ (Einheiten); oder "
                        "--kind angeben.")
                mapping, ignored = map_header(header, COLUMNS[kind], COLUMN_LABELS)
                missing = [c for c in REQUIRED[kind] if c not in mapping.values()]
                if missing:
                    raise ImportFileError(
                        "Pflichtspalte fehlt: " + ", ".join(
                            f"„{c}“ ({COLUMN_LABELS[c]})" for c in missing))
                continue
            if not any(cell.strip() for cell in record):
                continue
            values = {canon: (record[i].strip() if i < len(record) else "")
                      for i, canon in mapping.items()}
            extra = record[len(header):]
            rows.append(Row(start, values, too_many_fields=any(c.strip() for c in extra)))
    except csv.Error as exc:
        raise ImportFileError(f"CSV-Fehler in Zeile {reader.line_num}: {exc}") from exc
    return ParsedFile(name=name, kind=kind, columns=frozenset(mapping.values()), rows=rows,
                      encoding=encoding, delimiter=delimiter, ignored_columns=ignored)


def read_file(path: str | Path, kind: str | None = None, delimiter: str | None = None,
              encoding: str | None = None) -> ParsedFile:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"Datei „{path}“ nicht lesbar: {exc.strerror}.") from exc
    text, used = decode(data, encoding)
    try:
        return parse_text(text, path.name, kind=kind, delimiter=delimiter, encoding=used)
    except ImportFileError as exc:
        raise ImportFileError(f"{path.name}: {exc}") from exc


# --- Report -------------------------------------------------------------------------------------

@dataclass
class Rejection:
    file: str
    line: int
    key: str
    reason: str

    def __str__(self):
        key = f" ({self.key})" if self.key else ""
        return f"{self.file}, Zeile {self.line}{key}: {self.reason}"


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def as_dict(self):
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected}


@dataclass
class ImportReport:
    files: list[str]
    dry_run: bool
    strict: bool = False
    units: Counts = field(default_factory=Counts)
    employees: Counts = field(default_factory=Counts)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejections

    def counts(self, kind: str) -> Counts:
        return self.units if kind == UNITS else self.employees

    def as_dict(self) -> dict:
        return {"files": self.files, "dry_run": self.dry_run, "written": self.written,
                "units": self.units.as_dict(), "employees": self.employees.as_dict(),
                "rejections": [vars(r) for r in self.rejections], "warnings": self.warnings}

    def as_text(self) -> str:
        out = []
        if self.dry_run:
            out.append("Probelauf (--dry-run): es wurde nichts gespeichert.")
        elif self.strict and self.rejections:
            out.append("Abgelehnte Zeilen und --strict: es wurde nichts gespeichert.")
        for kind in (UNITS, EMPLOYEES):
            c = self.counts(kind)
            if any(c.as_dict().values()):
                out.append(f"{KIND_LABELS[kind]}: {c.created} neu, {c.updated} geändert, "
                           f"{c.unchanged} unverändert, {c.rejected} abgelehnt")
        if self.rejections:
            out.append(f"Abgelehnte Zeilen ({len(self.rejections)}):")
            out.extend(f"  {r}" for r in self.rejections)
        if self.warnings:
            out.append("Hinweise:")
            out.extend(f"  {w}" for w in self.warnings)
        return "\n".join(out)


# --- Validation ---------------------------------------------------------------------------------

def _parse_bool(value: str) -> bool | None:
    v = value.strip().lower()
    if v in TRUE_WORDS:
        return True
    if v in FALSE_WORDS:
        return False
    return None


_FLOOR_WORDS = {"eg": 0, "erdgeschoss": 0, "ug": -1, "kg": -1, "untergeschoss": -1,
                "keller": -1}


def _parse_floor(value: str) -> int | None:
    v = value.strip().lower()
    if v in _FLOOR_WORDS:
        return _FLOOR_WORDS[v]
    match = re.fullmatch(r"(-?\d+)\.?\s*(og|etage|obergeschoss|stock)?|(og|ug)\s*(\d+)", v)
    if not match:
        return None
    if match.group(1) is not None:
        return int(match.group(1))
    level = int(match.group(4))
    return -level if match.group(3) == "ug" else level


@dataclass
class _Candidate:
    """A row that passed the checks of the row itself; cross-references are checked later."""

    file: str
    row: Row
    key: str
    columns: frozenset[str]
    data: dict
    reasons: list[str] = field(default_factory=list)


class _Rooms:
    def __init__(self):
        self.by_level: dict[tuple, int] = {}
        self.by_number: dict[tuple, list[int]] = defaultdict(list)
        self.floor_names: dict[tuple, int] = {}
        rooms = Room.objects.values_list("pk", "number", "floor__level", "floor__name",
                                         "floor__building__name", "floor__building__site__name")
        for pk, number, level, floor_name, building, site in rooms:
            s, b, n = site.casefold(), building.casefold(), number.casefold()
            self.by_level[(s, b, level, n)] = pk
            self.by_number[(s, b, n)].append(pk)
            if floor_name:
                self.floor_names[(s, b, floor_name.casefold())] = level

    def find(self, site: str, building: str, floor: str, number: str) -> tuple[int | None, str]:
        s, b, n = site.casefold(), building.casefold(), number.casefold()
        where = f"„{site} / {building}" + (f" / {floor}" if floor else "") + f" / {number}“"
        if floor:
            level = _parse_floor(floor)
            if level is None:
                level = self.floor_names.get((s, b, floor.casefold()))
            if level is None:
                return None, f"Etage „{floor}“ ist keine Zahl (z. B. 0 für EG, -1 für UG)"
            pk = self.by_level.get((s, b, level, n))
            return (pk, "") if pk else (None, f"Raum {where} gibt es nicht")
        found = self.by_number.get((s, b, n), [])
        if len(found) == 1:
            return found[0], ""
        if len(found) > 1:
            return None, f"Raum {where} gibt es auf mehreren Etagen: bitte Etage angeben"
        return None, f"Raum {where} gibt es nicht"


def _check_lengths(values: dict, reasons: list[str]):
    for name, value in values.items():
        limit = MAX_LENGTHS.get(name)
        if limit and len(value) > limit:
            reasons.append(f"{COLUMN_LABELS[name]} ist länger als {limit} Zeichen")


def _unit_candidate(pf: ParsedFile, row: Row) -> _Candidate:
    v, reasons = row.values, []
    code = v.get("code", "")
    if row.too_many_fields:
        reasons.append("Zeile hat mehr Felder als die Kopfzeile (Trennzeichen im Text?)")
    for col in REQUIRED[UNITS]:
        if not v.get(col):
            reasons.append(f"Pflichtfeld „{COLUMN_LABELS[col]}“ ist leer")
    _check_lengths(v, reasons)
    data = {"code": code, "name": v.get("name", "")}
    if v.get("kind"):
        kind = UNIT_KINDS.get(v["kind"].strip().lower())
        if kind is None:
            reasons.append(f"Art „{v['kind']}“ ist unbekannt (erlaubt: "
                           + ", ".join(OrgUnit.Kind.values) + ")")
        data["kind"] = kind
    if "parent_code" in pf.columns:
        data["parent_code"] = v["parent_code"] or None
        if code and v["parent_code"] == code:
            reasons.append("Die Einheit kann nicht sich selbst übergeordnet sein")
    if "head_personnel_number" in pf.columns:
        data["head"] = v["head_personnel_number"] or None
    return _Candidate(pf.name, row, code, pf.columns, data, reasons)


def _employee_candidate(pf: ParsedFile, row: Row, rooms: _Rooms) -> _Candidate:
    v, reasons = row.values, []
    pn = v.get("personnel_number", "")
    if row.too_many_fields:
        reasons.append("Zeile hat mehr Felder als die Kopfzeile (Trennzeichen im Text?)")
    for col in REQUIRED[EMPLOYEES]:
        if not v.get(col):
            reasons.append(f"Pflichtfeld „{COLUMN_LABELS[col]}“ ist leer")
    _check_lengths(v, reasons)
    data: dict = {"personnel_number": pn, "unit_code": v.get("unit_code", "")}
    for col in ("last_name", "first_name", "email", "service_phone", "mobile_phone",
                "workstation"):
        if col in pf.columns:
            data[col] = v[col]
    if data.get("email"):
        try:
            validate_email(data["email"])
        except ValidationError:
            reasons.append(f"E-Mail-Adresse „{data['email']}“ ist ungültig")
    for col, default in (("field_service", False), ("active", True)):
        if col in pf.columns:
            parsed = _parse_bool(v[col]) if v[col] else default
            if parsed is None:
                reasons.append(f"{COLUMN_LABELS[col]}: „{v[col]}“ ist kein Ja/Nein-Wert "
                               "(erlaubt: ja/nein, 1/0, true/false)")
            data[col] = parsed
    if "supervisor_personnel_number" in pf.columns:
        sup = v["supervisor_personnel_number"] or None
        if sup and sup == pn:
            reasons.append("Die Person kann nicht ihr/e eigene/r Vorgesetzte/r sein")
        data["supervisor"] = sup
    place_cols = [c for c in ("site", "building", "floor", "room") if c in pf.columns]
    if place_cols:
        site, building, floor, number = (v.get(c, "") for c in ("site", "building", "floor",
                                                                 "room"))
        if not any((site, building, floor, number)):
            data["room_id"] = None
        else:
            missing = [COLUMN_LABELS[c] for c, val in (("site", site), ("building", building),
                                                      ("room", number)) if not val]
            if missing:
                reasons.append("Raumangabe unvollständig: " + ", ".join(missing) + " fehlt")
            else:
                room_id, problem = rooms.find(site, building, floor, number)
                if problem:
                    reasons.append(problem)
                data["room_id"] = room_id
    return _Candidate(pf.name, row, pn, pf.columns, data, reasons)


def _reject_cycles(parent_of: dict[str, str | None], candidates, field: str,
                   message: str) -> None:
    """Reject every still-valid candidate on a cycle of the parent links as they would be
    after the import: ``parent_of`` (current database state) updated by each candidate's
    ``field`` where the file has that column."""
    valid = {c.key: c for c in candidates if not c.reasons}
    for key, c in valid.items():
        if field in c.data:
            parent_of[key] = c.data[field]
        else:
            parent_of.setdefault(key, None)
    for cycle in _find_cycles(parent_of, list(valid)):
        text = " → ".join([*cycle, cycle[0]])
        for key in cycle:
            if key in valid:
                valid[key].reasons.append(f"{message}: {text}")


def _find_cycles(parent_of: dict[str, str | None], starts) -> list[list[str]]:
    """Cycles in a functional graph (each node has at most one parent), reached from ``starts``."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles = []
    for start in starts:
        path, node = [], start
        while node is not None and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parent_of.get(node)
        if node is not None and state.get(node) == 1:
            cycles.append(path[path.index(node):])
        for n in path:
            state[n] = 2
    return cycles


# --- The import ---------------------------------------------------------------------------------

class _Importer:
    def __init__(self, files: list[ParsedFile], dry_run: bool, strict: bool):
        self.files = files
        self.report = ImportReport(files=[f.name for f in files], dry_run=dry_run, strict=strict)
        for pf in files:
            for col in pf.ignored_columns:
                self.report.warnings.append(f"{pf.name}: Spalte „{col}“ ist unbekannt und wird "
                                            "ignoriert")
        self.units = {u.code: u for u in OrgUnit.objects.all()}
        self.unit_code_by_id = {u.pk: u.code for u in self.units.values()}
        self.employees = {e.personnel_number: e for e in Employee.objects.all()}
        self.pn_by_id = {e.pk: pn for pn, e in self.employees.items()}
        self.unit_rows: list[_Candidate] = []
        self.employee_rows: list[_Candidate] = []

    # Validation -----------------------------------------------------------------------------

    def _reject(self, kind: str, cand: _Candidate, reasons: list[str]):
        label = "Kennung" if kind == UNITS else "Personalnummer"
        self.report.rejections.append(Rejection(cand.file, cand.row.line,
                                                f"{label} „{cand.key}“" if cand.key else "",
                                                "; ".join(reasons)))
        self.report.counts(kind).rejected += 1

    def _collect(self):
        rooms = _Rooms() if any(pf.kind == EMPLOYEES for pf in self.files) else None
        for pf in self.files:
            for row in pf.rows:
                if pf.kind == UNITS:
                    self.unit_rows.append(_unit_candidate(pf, row))
                else:
                    self.employee_rows.append(_employee_candidate(pf, row, rooms))
        for kind, cands in ((UNITS, self.unit_rows), (EMPLOYEES, self.employee_rows)):
            counts = Counter(c.key for c in cands if c.key)
            lines = defaultdict(list)
            for c in cands:
                lines[c.key].append(f"{c.file}:{c.row.line}" if len(self.files) > 1
                                    else str(c.row.line))
            label = "Kennung" if kind == UNITS else "Personalnummer"
            for c in cands:
                if c.key and counts[c.key] > 1:
                    c.reasons.append(f"{label} kommt in der Datei mehrfach vor (Zeilen "
                                     + ", ".join(lines[c.key]) + ")")

    def _resolve_references(self):
        """Reject rows whose references fail, until no more rows fall (a rejected new unit can
        invalidate the employees in it, whose rejection can invalidate the units they head...)."""
        units = [c for c in self.unit_rows if not c.reasons]
        emps = [c for c in self.employee_rows if not c.reasons]
        in_file_units = {c.key for c in self.unit_rows}
        in_file_pns = {c.key for c in self.employee_rows}

        def unknown(value, in_file, hint=""):
            # A reference to a row of this import that was itself rejected says so.
            if value in in_file:
                return f"„{value}“ ist in dieser Datei abgelehnt (siehe dort)"
            return f"„{value}“ ist unbekannt{hint}"

        while True:
            known_units = set(self.units) | {c.key for c in units}
            known_pns = set(self.employees) | {c.key for c in emps}
            fallen: set[int] = set()
            for c in units:
                parent, head = c.data.get("parent_code"), c.data.get("head")
                if parent and parent not in known_units:
                    c.reasons.append("übergeordnete Einheit " + unknown(parent, in_file_units))
                if head and head not in known_pns:
                    c.reasons.append("Leitung: Personalnummer " + unknown(
                        head, in_file_pns, " (neue Beschäftigte zusammen mit den Einheiten "
                        "importieren)"))
            for c in emps:
                if c.data["unit_code"] not in known_units:
                    c.reasons.append("Organisationseinheit "
                                     + unknown(c.data["unit_code"], in_file_units))
                sup = c.data.get("supervisor")
                if sup and sup not in known_pns:
                    c.reasons.append("Vorgesetzte/r: Personalnummer "
                                     + unknown(sup, in_file_pns))
            # Cycles over the tree and the supervisor chains as they would be after the import.
            _reject_cycles(
                {code: self.unit_code_by_id.get(u.parent_id) for code, u in self.units.items()},
                units, "parent_code", "Zyklus im Organisationsbaum")
            _reject_cycles(
                {pn: self.pn_by_id.get(e.supervisor_id) for pn, e in self.employees.items()},
                emps, "supervisor", "Zyklus bei den Vorgesetzten")
            fallen = {id(c) for c in units + emps if c.reasons}
            if not fallen:
                break
            units = [c for c in units if id(c) not in fallen]
            emps = [c for c in emps if id(c) not in fallen]
        for kind, cands in ((UNITS, self.unit_rows), (EMPLOYEES, self.employee_rows)):
            for c in cands:
                if c.reasons:
                    self._reject(kind, c, c.reasons)
        self.report.rejections.sort(key=lambda r: (self.report.files.index(r.file), r.line))
        return units, emps

    # Planning -------------------------------------------------------------------------------

    def _unit_changes(self, c: _Candidate) -> dict:
        unit = self.units.get(c.key)
        if unit is None:
            return {"new": True}
        changes = {}
        for name in ("name", "kind"):
            if getattr(unit, name) != c.data[name]:
                changes[name] = c.data[name]
        if "parent_code" in c.data and self.unit_code_by_id.get(unit.parent_id) != \
                c.data["parent_code"]:
            changes["parent_code"] = c.data["parent_code"]
        if "head" in c.data and self.pn_by_id.get(unit.head_id) != c.data["head"]:
            changes["head"] = c.data["head"]
        return changes

    def _employee_changes(self, c: _Candidate) -> dict:
        emp = self.employees.get(c.key)
        if emp is None:
            return {"new": True}
        changes = {}
        for name in ("last_name", "first_name", "email", "service_phone", "mobile_phone",
                     "workstation", "field_service", "active", "room_id"):
            if name in c.data and getattr(emp, name) != c.data[name]:
                changes[name] = c.data[name]
        locked = [name for name in LOCKED_FIELDS if name in changes]
        if locked and services.identity_locked(emp):
            # A holder of a privileged role: e-mail and mobile number stay (the login and the
            # alarm SMS are bound to them); the rest of the row is imported.
            for name in locked:
                del changes[name]
                del c.data[name]
            self.report.warnings.append(
                f"{c.file}, Zeile {c.row.line}: {', '.join(COLUMN_LABELS[n] for n in locked)} von "
                f"Personalnummer {c.key} nicht übernommen – die Person hat eine besondere Rolle; "
                "zuerst die Rolle entziehen.")
        if self.unit_code_by_id.get(emp.unit_id) != c.data["unit_code"]:
            changes["unit_code"] = c.data["unit_code"]
        if "supervisor" in c.data and self.pn_by_id.get(emp.supervisor_id) != \
                c.data["supervisor"]:
            changes["supervisor"] = c.data["supervisor"]
        return changes

    def run(self, actor_label: str) -> ImportReport:
        self._collect()
        units, emps = self._resolve_references()
        unit_plan = [(c, self._unit_changes(c)) for c in units]
        emp_plan = [(c, self._employee_changes(c)) for c in emps]
        for kind, plan in ((UNITS, unit_plan), (EMPLOYEES, emp_plan)):
            counts = self.report.counts(kind)
            for _, changes in plan:
                if changes.get("new"):
                    counts.created += 1
                elif changes:
                    counts.updated += 1
                else:
                    counts.unchanged += 1
        if self.report.dry_run or (self.report.strict and self.report.rejections):
            return self.report
        unit_plan = [(c, ch) for c, ch in unit_plan if ch]
        emp_plan = [(c, ch) for c, ch in emp_plan if ch]
        if not unit_plan and not emp_plan:
            return self.report
        with transaction.atomic(), audit.acting_as(audit.Actor(user=None, label=actor_label)):
            self._apply(unit_plan, emp_plan)
            audit.record("organisation.import", object_type="organisation.import",
                         object_repr=", ".join(self.report.files),
                         after={"files": self.report.files,
                                "units": self.report.units.as_dict(),
                                "employees": self.report.employees.as_dict()})
        self.report.written = True
        return self.report

    # Writing --------------------------------------------------------------------------------

    def _apply(self, unit_plan, emp_plan):
        deferred_heads: list[tuple[OrgUnit, str | None]] = []
        # Parents before children, so a new parent exists when its child is saved.
        pending = {c.key: (c, ch) for c, ch in unit_plan}
        for code in _topological(pending, lambda item: item[0].data.get("parent_code")):
            c, ch = pending[code]
            unit = self.units.get(code) or OrgUnit(code=code)
            unit.name, unit.kind = c.data["name"], c.data["kind"]
            if "parent_code" in c.data:
                parent = c.data["parent_code"]
                unit.parent = self.units[parent] if parent else None
            if "head" in c.data and (ch.get("new") or "head" in ch):
                head_pn = c.data["head"]
                if head_pn is None:
                    unit.head = None
                elif head_pn in self.employees:
                    unit.head = self.employees[head_pn]
                else:
                    deferred_heads.append((unit, head_pn))
            unit.save()
            self.units[code] = unit
            self.unit_code_by_id[unit.pk] = code
        pending = {c.key: (c, ch) for c, ch in emp_plan}
        for pn in _topological(pending, lambda item: item[0].data.get("supervisor")):
            c, ch = pending[pn]
            emp = self.employees.get(pn) or Employee(personnel_number=pn)
            for name in ("last_name", "first_name", "email", "service_phone", "mobile_phone",
                         "workstation", "field_service", "active", "room_id"):
                if name in c.data:
                    setattr(emp, name, c.data[name])
            emp.unit = self.units[c.data["unit_code"]]
            if "supervisor" in c.data:
                sup = c.data["supervisor"]
                emp.supervisor = self.employees[sup] if sup else None
            emp.save()
            self.employees[pn] = emp
            self.pn_by_id[emp.pk] = pn
        for unit, head_pn in deferred_heads:
            unit.head = self.employees[head_pn]
            unit.save()


def _topological(pending: dict[str, tuple], depends_on) -> list[str]:
    """Keys ordered so that a key's dependency (if also pending) comes first. Acyclic input."""
    order, done = [], set()
    for key in pending:
        chain, node = [], key
        while node in pending and node not in done and node not in chain:
            chain.append(node)
            node = depends_on(pending[node])
        for n in reversed(chain):
            done.add(n)
            order.append(n)
    return order


def import_files(files: list[ParsedFile], *, dry_run: bool = False, strict: bool = False,
                 actor_label: str | None = None) -> ImportReport:
    """Validate and import parsed files (units and/or employees) as one batch."""
    label = actor_label or "import-org:" + ",".join(f.name for f in files)
    return _Importer(files, dry_run=dry_run, strict=strict).run(label[:200])


def import_paths(paths: list[str | Path], *, kind: str | None = None,
                 delimiter: str | None = None, encoding: str | None = None,
                 dry_run: bool = False, strict: bool = False,
                 actor_label: str | None = None) -> ImportReport:
    """Read and import CSV files. Raises ImportFileError when a file as a whole is unusable."""
    files = [read_file(p, kind=kind, delimiter=delimiter, encoding=encoding) for p in paths]
    return import_files(files, dry_run=dry_run, strict=strict, actor_label=actor_label)
