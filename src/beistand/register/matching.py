"""Name, date and address matching for register look-ups.

Two halves:

* **Keys** (``person_keys``/``rebuild_keys``): precomputed, indexed ``SearchKey`` rows. Every key
  combines two independent facts (a name with another name, a date of birth or a postal code),
  so one indexed probe returns a handful of persons, never a whole family of "Meier"s. A look-up
  probes several independent passes (``query_keys``) with every tolerated variant of the query,
  so a person is reached when two of its fields are corrupted at once — the person table is
  never scanned.
* **Weighing** (``assess``/``score``): per field the strongest agreement level (names: exact,
  given-name equivalent, Kölner Phonetik, transliteration skeleton, one typing error, remotely
  similar; dates: exact, day/month swapped, a few days, one digit, a year off, same year;
  address: same address, street, postal code), each with the weight log2(m/u) of a
  Fellegi–Sunter model (``M_U``). A field missing on either side weighs nothing — neither for
  nor against. The total weight gives the score (a probability) and the German match level.
  The model and its figures are documented in docs/register.md.

Key kinds (values are at most 120 characters):

``nn``  phonetic surname form | phonetic given-name form (every pair; aliases count as both;
        given-name equivalents add their group's code)
``n0``  normalised surname form of a person without a given name (probed for rare surnames
        only: a frequent surname alone can never reach the threshold)
``nx``  surname (4–9 letters) or the surname with one letter deleted | phonetic given-name form
``ny``  surname word | first three letters of a given-name part (a typing error later in the
        given name still meets the person without a date of birth)
``nd``  phonetic name form (surname, birth name, alias or given name) | YYYYMMDD
``di``  YYYYMMDD | initial of a surname or given-name part (a surname typo that changes the
        phonetic code, with the date of birth and without a first name)
``sn``  surname word (counted for the term-frequency weight: "Müller" counts less than
        "Krawczyk")
``na``  phonetic name form | postal code of a current address
``adr`` normalised street | postal code of a current address
``adh`` normalised street | postal code | house number of a current address
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from rapidfuzz.distance import OSA, JaroWinkler

from beistand.register import name_tables

# Name particles dropped for keys ("von der Heide" is found as "Heide").
PARTICLES = frozenset({"von", "van", "de", "der", "den", "zu", "zum", "zur", "di", "da", "del",
                       "della", "el", "al", "la", "le", "ten", "ter", "vom", "dos", "das", "du"})

# Letters that NFKD does not decompose into a base letter plus a combining mark.
_SPECIAL = str.maketrans({
    "ß": "ss", "ẞ": "ss", "ı": "i", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o",
    "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "ð": "d", "ħ": "h",
})
_UMLAUT_E = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
_NON_LETTER = re.compile(r"[^a-z]+")


def _fold(text: str, umlaut_e: bool) -> str:
    """Casefold, expand or strip umlauts, strip every other diacritic; keep letters/separators."""
    text = (text or "").translate(_SPECIAL)
    # casefold() would turn "ß" into "ss" too, but also "İ" into "i̇"; NFKD strips the dot.
    text = text.casefold()
    if umlaut_e:
        text = text.translate(_UMLAUT_E)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return text.translate(_SPECIAL)


def name_parts(text: str, umlaut_e: bool = True, keep_particles: bool = False) -> list[str]:
    """Normalised parts of a name: "von der Heide-Müller" -> ["heide", "mueller"]."""
    parts = [p for p in _NON_LETTER.split(_fold(text, umlaut_e)) if p]
    if not keep_particles:
        kept = [p for p in parts if p not in PARTICLES]
        # A name made only of particles ("De", "Al") is still a name.
        parts = kept or parts
    return parts


def normalise(text: str, umlaut_e: bool = True) -> str:
    """One normalised string for a whole name (particles dropped, parts joined by a space)."""
    return " ".join(name_parts(text, umlaut_e))


@lru_cache(maxsize=65536)
def _variants(text: str) -> frozenset[str]:
    return frozenset(name_parts(text, True)) | frozenset(name_parts(text, False))


def part_variants(text: str) -> frozenset[str]:
    """Normalised parts in both umlaut spellings: Müller -> {"mueller", "muller"}."""
    return _variants(text or "")


# --- Kölner Phonetik ------------------------------------------------------------------------
# Rules as published by Hans Joachim Postel (1969); see the table in docs/register.md.

_SIMPLE = {**dict.fromkeys("aeijouy", "0"), "b": "1", **dict.fromkeys("fvw", "3"),
           **dict.fromkeys("gkq", "4"), "l": "5", **dict.fromkeys("mn", "6"), "r": "7",
           **dict.fromkeys("sz", "8")}


@lru_cache(maxsize=65536)
def cologne(word: str) -> str:
    """Kölner Phonetik code of a word ("Müller-Lüdenscheidt" -> "65752682")."""
    letters = [c for c in _fold(word, umlaut_e=False) if "a" <= c <= "z"]
    raw = []
    for i, c in enumerate(letters):
        prev = letters[i - 1] if i > 0 else ""
        nxt = letters[i + 1] if i + 1 < len(letters) else ""
        if c == "h":
            continue
        if c in _SIMPLE:
            code = _SIMPLE[c]
        elif c == "p":
            code = "3" if nxt == "h" else "1"
        elif c in "dt":
            code = "8" if nxt in ("c", "s", "z") and nxt else "2"
        elif c == "x":
            code = "8" if prev in ("c", "k", "q") and prev else "48"
        elif c == "c":
            if i == 0:
                code = "4" if nxt and nxt in "ahkloqrux" else "8"
            elif prev in ("s", "z"):
                code = "8"
            else:
                code = "4" if nxt and nxt in "ahkoqux" else "8"
        else:
            continue
        raw.append(code)
    digits = "".join(raw)
    collapsed = []
    for d in digits:
        if not collapsed or collapsed[-1] != d:
            collapsed.append(d)
    if not collapsed:
        return ""
    return collapsed[0] + "".join(d for d in collapsed[1:] if d != "0")


def phonetic_parts(text: str) -> set[str]:
    return {code for p in name_parts(text) if (code := cologne(p))}


# --- Addresses ------------------------------------------------------------------------------

_STREET_SUFFIX = re.compile(r"(strasse|str)$")


def normalise_street(street: str) -> str:
    """"Hauptstraße" / "Haupt-Str." / "hauptstrasse" -> "hauptstr"."""
    s = "".join(_NON_LETTER.split(_fold(street, True)))
    return _STREET_SUFFIX.sub("str", s)


def normalise_house_number(number: str) -> str:
    return re.sub(r"[^0-9a-z]", "", _fold(number, True))


def normalise_postal_code(code: str) -> str:
    return re.sub(r"\s", "", code or "")


# --- Dates ----------------------------------------------------------------------------------

FEW_DAYS = 3


def _valid(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return yyyymmdd[:4] >= "1900"


def date_variants(d: date) -> set[str]:
    """The date and the dates a clerk may have written for it: every valid date one digit away,
    day and month swapped, up to three days off (also across a month's end), the same day and
    month one year earlier or later."""
    text = d.strftime("%Y%m%d")
    out = {text}
    for pos in range(8):
        for digit in "0123456789":
            if digit == text[pos]:
                continue
            candidate = text[:pos] + digit + text[pos + 1:]
            if _valid(candidate):
                out.add(candidate)
    for candidate in (f"{text[:4]}{text[6:8]}{text[4:6]}",
                      f"{int(text[:4]) - 1:04d}{text[4:]}", f"{int(text[:4]) + 1:04d}{text[4:]}"):
        if _valid(candidate):
            out.add(candidate)
    for days in range(1, FEW_DAYS + 1):
        for sign in (-1, 1):
            try:
                other = d + timedelta(days=sign * days)
            except OverflowError:
                continue
            if other.year >= 1900:
                out.add(other.strftime("%Y%m%d"))
    return out


DATE_LEVELS = ("exakt", "Tag und Monat vertauscht", "wenige Tage abweichend",
               "eine Ziffer abweichend", "Jahr um eins abweichend", "nur Geburtsjahr",
               "abweichend")
# Old 0..1 values of the levels (``date_agreement``; kept for callers that want one number).
_DATE_VALUES = {"exakt": 1.0, "Tag und Monat vertauscht": 0.8, "wenige Tage abweichend": 0.75,
                "eine Ziffer abweichend": 0.7, "Jahr um eins abweichend": 0.6,
                "nur Geburtsjahr": 0.3, "abweichend": 0.0}


def date_levels(query: date, candidate: date) -> list[str]:
    """Every agreement level that applies to the two dates (the scorer takes the strongest)."""
    if query == candidate:
        return ["exakt"]
    q, c = query.strftime("%Y%m%d"), candidate.strftime("%Y%m%d")
    levels = []
    if q[:4] == c[:4] and q[4:6] == c[6:8] and q[6:8] == c[4:6]:
        levels.append("Tag und Monat vertauscht")
    if sum(a != b for a, b in zip(q, c, strict=True)) == 1:
        levels.append("eine Ziffer abweichend")
    if abs((query - candidate).days) <= FEW_DAYS:
        levels.append("wenige Tage abweichend")
    if q[4:] == c[4:] and abs(int(q[:4]) - int(c[:4])) == 1:
        levels.append("Jahr um eins abweichend")
    if not levels:
        levels.append("nur Geburtsjahr" if q[:4] == c[:4] else "abweichend")
    return levels


def date_agreement(query: date, candidate: date) -> tuple[float, str]:
    """(value 0..1, how) of the strongest applicable date level ("" when none agrees)."""
    level = max(date_levels(query, candidate), key=_DATE_VALUES.__getitem__)
    return _DATE_VALUES[level], ("" if level == "abweichend" else level)


# --- Name forms and comparisons -------------------------------------------------------------

def _norm_table_name(text: str) -> str:
    return "".join(name_parts(text, umlaut_e=False, keep_particles=True))


_GIVEN_GROUPS: dict[str, frozenset[int]] = {}
for _index, _group in enumerate(name_tables.GIVEN_NAME_GROUPS):
    for _name in _group:
        for _form in {_norm_table_name(_name), "".join(name_parts(_name, keep_particles=True))}:
            _GIVEN_GROUPS[_form] = _GIVEN_GROUPS.get(_form, frozenset()) | {_index}
_GROUP_CANONICAL = [_norm_table_name(g[0]) for g in name_tables.GIVEN_NAME_GROUPS]
# Particles written together with the name ("Vanderlinden", "Vonderheide"), longest first.
# Only those that are not also the start of ordinary names ("Al" in "Altenbusch", "De" in
# "Decker", "La" in "Lange" stay): a written-together "de vries" is met by the joined form.
_PARTICLE_PREFIXES = ("van", "von", "vom", "der", "den", "zum", "zur", "ter", "zu")


def given_groups(part: str) -> frozenset[int]:
    return _GIVEN_GROUPS.get(part, frozenset())


@lru_cache(maxsize=65536)
def skeleton(part: str) -> str:
    """Transliteration skeleton (``name_tables.TRANSLITERATION``), doubled letters collapsed."""
    for old, new in name_tables.TRANSLITERATION:
        part = part.replace(old, new)
    return "".join(ch for i, ch in enumerate(part) if i == 0 or part[i - 1] != ch)


def _strip_particle_prefix(word: str) -> set[str]:
    """"vanderlinden" -> {"derlinden", "linden"}: particles written as one word with the name.
    Only remainders of at least four letters count."""
    out, todo = set(), [word]
    while todo:
        current = todo.pop()
        for prefix in _PARTICLE_PREFIXES:
            rest = current[len(prefix):]
            if current.startswith(prefix) and len(rest) >= 4 and rest not in out:
                out.add(rest)
                todo.append(rest)
    return out


@lru_cache(maxsize=65536)
def name_forms(text: str, surname: bool = True) -> frozenset[str]:
    """Every normalised form a name is compared and keyed by: its parts in both umlaut
    spellings; for several parts also the parts written together (with and without
    particles: "Abu-Khalil" -> "abukhalil", "van der Linden" -> "vanderlinden"); for a surname
    written as one word, the word without leading particles ("Vanderlinden" -> "linden")."""
    forms = set(part_variants(text or ""))
    for umlaut_e in (True, False):
        with_particles = name_parts(text or "", umlaut_e, keep_particles=True)
        if len(with_particles) > 1:
            forms.add("".join(with_particles))
            kept = name_parts(text or "", umlaut_e)
            if len(kept) > 1:
                forms.add("".join(kept))
        if surname:
            for part in list(with_particles):
                forms |= _strip_particle_prefix(part)
    return frozenset(f for f in forms if f)


PHONETIC_MIN_SIMILARITY = 0.7
NAME_LEVELS = ("exakt", "Namensvariante", "phonetisch", "Umschrift", "ähnlich",
               "entfernt ähnlich", "abweichend")


@lru_cache(maxsize=262144)
def part_level(a: str, b: str, given: bool = False) -> str:
    """Agreement level of two normalised name forms (``NAME_LEVELS``)."""
    if a == b:
        return "exakt"
    if given and given_groups(a) & given_groups(b):
        return "Namensvariante"
    # Equal Kölner Phonetik codes, unless the spellings have little in common: short codes are
    # shared by very different names ("Arnim"/"Herrmann" 076, "Zudohna"/"Stein" 826).
    if (min(len(a), len(b)) > 1 and cologne(a) == cologne(b)
            and JaroWinkler.normalized_similarity(a, b) >= PHONETIC_MIN_SIMILARITY):
        return "phonetisch"
    if skeleton(a) == skeleton(b):
        return "Umschrift"
    shortest = min(len(a), len(b))
    # One typing error (wrong, missing, extra or two swapped letters) in a name of four or more
    # letters; the first letter is rarely the mistyped one.
    if shortest >= 4 and a[0] == b[0] and OSA.distance(a, b) <= 1:
        return "ähnlich"
    if shortest >= 7 and a[0] == b[0] and OSA.distance(a, b) <= 2:
        return "ähnlich"
    if shortest >= 3 and JaroWinkler.normalized_similarity(a, b) >= 0.8:
        return "entfernt ähnlich"
    return "abweichend"


def part_similarity(a: str, b: str) -> tuple[float, str]:
    """(0..1, level) of two normalised name parts (the level's old-style value)."""
    level = part_level(a, b)
    value = {"exakt": 1.0, "phonetisch": 0.9, "Umschrift": 0.85, "ähnlich": 0.8,
             "entfernt ähnlich": 0.6}.get(level, JaroWinkler.normalized_similarity(a, b) / 2)
    return value, level


# --- Keys -----------------------------------------------------------------------------------

@dataclass
class Identity:
    """What the key builder and the scorer need of a person (also used by the benchmark and the
    import). Empty fields are unknown, not "different"."""

    last_name: str
    first_names: str = ""
    birth_name: str = ""
    aliases: list[str] = field(default_factory=list)
    date_of_birth: date | None = None
    # Current addresses only: (street, house_number, postal_code).
    addresses: list[tuple[str, str, str]] = field(default_factory=list)


def identity_of(person) -> Identity:
    addresses = [(a.street, a.house_number, a.postal_code)
                 for a in person.addresses.all() if a.valid_to is None]
    return Identity(person.last_name, person.first_names, person.birth_name,
                    list(person.aliases or []), person.date_of_birth, addresses)


def surname_codes(texts) -> set[str]:
    """Kölner Phonetik codes of every form of the surnames (parts, written together, without a
    leading particle)."""
    return {code for text in texts if text for f in name_forms(text) if (code := cologne(f))}


def given_codes(texts) -> set[str]:
    """Codes of the given-name parts, plus the code of the group name of every given-name
    equivalent ("Voytek" also carries the code of "Wojciech")."""
    codes = set()
    for text in texts:
        if not text:
            continue
        for part in name_forms(text, surname=False):
            if code := cologne(part):
                codes.add(code)
            for index in given_groups(part):
                codes.add(cologne(_GROUP_CANONICAL[index]))
    return codes


# The letter-deletion neighbourhood ("nx") of surnames of this length: a typo that changes the
# phonetic code (Brandt/Bradt, Hartung/Hartnug) still meets the person without a date of birth.
NX_MIN, NX_MAX = 4, 9


def deletion_neighbourhood(word: str) -> set[str]:
    """The word and every word with one letter deleted (symmetric-delete blocking: two words
    within one insertion, deletion, substitution or adjacent swap share one of these)."""
    if not NX_MIN <= len(word) <= NX_MAX:
        return set()
    return {word} | {word[:i] + word[i + 1:] for i in range(len(word))}


def _surname_words(texts, both_spellings: bool = False) -> set[str]:
    words = {p for text in texts if text for p in name_parts(text, umlaut_e=False)}
    if both_spellings:
        words |= {p for text in texts if text for p in name_parts(text, umlaut_e=True)}
    return words


GIVEN_PREFIX = 3


def given_prefixes(texts) -> set[str]:
    """First letters of every given-name part of at least four letters ("ny" keys)."""
    return {p[:GIVEN_PREFIX] for text in texts if text
            for p in name_parts(text, umlaut_e=False) if len(p) > GIVEN_PREFIX}


def initials(texts) -> set[str]:
    """Initial letters of the name parts ("di" keys)."""
    return {p[0] for text in texts if text for p in name_parts(text, umlaut_e=False)}


def person_keys(ident: Identity) -> set[tuple[str, str]]:
    """All (kind, value) search keys of one identity."""
    surnames = surname_codes([ident.last_name, ident.birth_name, *ident.aliases])
    given = given_codes([ident.first_names, *ident.aliases])
    names = surnames | given
    # Without a given name the person is keyed by the surname alone (probed by every query).
    keys = {("nn", f"{s}|{g}") for s in surnames for g in given}
    if not given:
        keys |= {("n0", f) for text in (ident.last_name, ident.birth_name) if text
                 for f in name_forms(text)}
    words = _surname_words([ident.last_name, ident.birth_name])
    prefixes = given_prefixes([ident.first_names])
    for word in words:
        keys |= {("nx", f"{w}|{g}") for w in deletion_neighbourhood(word) for g in given}
        keys |= {("ny", f"{word}|{p}") for p in prefixes}
    keys |= {("sn", w) for w in _surname_words([ident.last_name, ident.birth_name], True)}
    if ident.date_of_birth is not None:
        dob = ident.date_of_birth.strftime("%Y%m%d")
        keys |= {("nd", f"{n}|{dob}") for n in names}
        keys |= {("di", f"{dob}|{i}") for i in initials(
            [ident.last_name, ident.birth_name, ident.first_names, *ident.aliases])}
    for street, number, postal in ident.addresses:
        postal = normalise_postal_code(postal)
        street_key = normalise_street(street)
        if not postal:
            continue
        keys |= {("na", f"{n}|{postal}") for n in names}
        if street_key:
            keys.add(("adr", f"{street_key}|{postal}"[:120]))
            keys.add(("adh", f"{street_key}|{postal}|{normalise_house_number(number)}"[:120]))
    return {(k, v[:120]) for k, v in keys}


def rebuild_keys(person) -> None:
    """Replace the person's SearchKey rows. Deleted persons keep none; restricted ones keep
    theirs (they are filtered out at look-up time, and lifting the restriction needs no rebuild).
    """
    from beistand.register.models import RegisterPerson, SearchKey

    SearchKey.objects.filter(person=person).delete()
    if person.status == RegisterPerson.Status.DELETED or person.merged_into_id:
        return
    SearchKey.objects.bulk_create(
        [SearchKey(person=person, kind=k, value=v)
         for k, v in sorted(person_keys(identity_of(person)))])


# --- Query keys -----------------------------------------------------------------------------

@dataclass
class Query:
    last_name: str = ""
    first_name: str = ""
    date_of_birth: date | None = None
    street: str = ""
    house_number: str = ""
    postal_code: str = ""


def query_keys(q: Query, frequent: frozenset[str] = frozenset()) -> dict[str, set[str]]:
    """Key values to probe, per kind: several independent blocking passes, so that a person
    is reached when any one of the query's facts survives together with one other.

    * ``nn`` surname × given name, both ways round (swapped names): reaches persons whose date
      of birth is missing, corrupted or different — always probed, so a querier who adds a date
      of birth never finds less;
    * ``nx`` surname within one typing error × given name (deletion neighbourhood);
    * ``nd`` any name × the date of birth and every tolerated variant of it (one digit, day and
      month swapped, a few days, a year): reaches persons whose surname *or* given name is
      corrupted;
    * ``na`` any name × postal code;
    * ``n0`` the surname alone, for persons without a given name; ``ny`` surname × the first
      letters of the given name (a typing error later in the given name); both only for
      surnames not in ``frequent``;
    * ``di`` the date of birth (exact or day and month swapped) × an initial: a surname typo
      that changes the phonetic code, without a first name.
    """
    last = surname_codes([q.last_name])
    first = given_codes([q.first_name])
    # Swapped names: the first name's forms probed as surname codes and vice versa.
    last_swapped = given_codes([q.last_name])
    first_swapped = surname_codes([q.first_name]) if q.first_name else set()
    names = last | first | last_swapped | first_swapped
    keys: dict[str, set[str]] = {"nn": set(), "nx": set(), "nd": set(), "na": set()}
    # Persons without a given name ("code|") are probed by every query.
    keys["nn"] = {f"{a}|{b}" for a in last for b in first}
    keys["nn"] |= {f"{a}|{b}" for a in first_swapped for b in last_swapped}
    words = _surname_words([q.last_name])
    for word in words:
        keys["nx"] |= {f"{w}|{g}" for w in deletion_neighbourhood(word) for g in first}
    # The wide passes (surname alone; surname x three letters of the given name) only for
    # surnames that are not frequent (``frequent``: words counted above MATCH_WIDE_PROBE_MAX).
    keys["n0"] = {f for f in name_forms(q.last_name) if f not in frequent}
    keys["ny"] = {f"{w}|{p}" for w in words - frequent for p in given_prefixes([q.first_name])}
    if q.date_of_birth is not None:
        dates = date_variants(q.date_of_birth)
        keys["nd"] = {f"{n}|{d}" for n in names for d in dates}
        exact = q.date_of_birth.strftime("%Y%m%d")
        swapped = f"{exact[:4]}{exact[6:8]}{exact[4:6]}"
        keys["di"] = {f"{d}|{i}" for d in {exact, swapped} if _valid(d)
                      for i in initials([q.last_name, q.first_name])}
    postal = normalise_postal_code(q.postal_code)
    if postal:
        keys["na"] = {f"{n}|{postal}" for n in names}
    return {k: {v[:120] for v in vs} for k, vs in keys.items() if vs}


# --- Scoring: agreement levels with weights (Fellegi–Sunter) ---------------------------------

# (m, u) per field and agreement level: m = how often the level occurs when the record IS the
# person, u = how often when it is somebody else. The weight of a level is log2(m/u) bits; a
# field missing on either side contributes nothing. The figures are estimates for a register of
# 10^5–10^6 persons (see docs/register.md, "Re-estimating the weights").
M_U: dict[str, dict[str, tuple[float, float]]] = {
    "last_name": {"exakt": (0.80, 0.002), "phonetisch": (0.08, 0.0005),
                  "Umschrift": (0.04, 0.0003), "ähnlich": (0.05, 0.0006),
                  "entfernt ähnlich": (0.02, 0.01), "abweichend": (0.01, 0.987)},
    "first_name": {"exakt": (0.85, 0.01), "Namensvariante": (0.05, 0.002),
                   "phonetisch": (0.05, 0.002), "Umschrift": (0.03, 0.0015),
                   "ähnlich": (0.03, 0.003), "entfernt ähnlich": (0.01, 0.02),
                   "abweichend": (0.02, 0.963)},
    "date_of_birth": {"exakt": (0.85, 1e-4), "Tag und Monat vertauscht": (0.02, 1e-4),
                      "wenige Tage abweichend": (0.02, 0.0015),
                      "eine Ziffer abweichend": (0.03, 0.003),
                      "Jahr um eins abweichend": (0.01, 2e-4),
                      "nur Geburtsjahr": (0.002, 0.015), "abweichend": (0.05, 0.98)},
    "address": {"gleiche Anschrift": (0.5, 1e-4), "gleiche Straße": (0.15, 5e-4),
                "gleiche Postleitzahl": (0.1, 0.005), "abweichend": (0.25, 0.995)},
}
WEIGHTS: dict[str, dict[str, float]] = {
    fld: {level: math.log2(m / u) for level, (m, u) in levels.items()}
    for fld, levels in M_U.items()}
# Names found only with first and last name swapped: one bit less.
SWAP_BITS = 1.0
# Total weight at which a candidate is shown ("möglich"); the score is the probability
# 1 / (1 + 2^(FLOOR_BITS - weight)), so SCORE_FLOOR = 0.5 is this weight.
FLOOR_BITS = 12.5
SCORE_FLOOR = 0.5
LIKELY = 0.95
SURE = 0.999
MISSING = "im Register nicht erfasst"


def thresholds() -> tuple[float, float, float]:
    """(shown, likely, sure): the settings MATCH_SHOWN, MATCH_LIKELY, MATCH_SURE (defaults
    SCORE_FLOOR, LIKELY, SURE)."""
    from django.conf import settings

    return (getattr(settings, "MATCH_SHOWN", SCORE_FLOOR),
            getattr(settings, "MATCH_LIKELY", LIKELY), getattr(settings, "MATCH_SURE", SURE))


def match_level(value: float) -> str:
    """German match level of a score: "sicher", "wahrscheinlich", "möglich" or ""."""
    shown, likely, sure = thresholds()
    if value >= sure:
        return "sicher"
    if value >= likely:
        return "wahrscheinlich"
    return "möglich" if value >= shown else ""


@dataclass(frozen=True)
class Frequencies:
    """How many registered persons carry each surname word (``sn`` keys), and how many persons
    the register holds: the term-frequency adjustment of the exact surname level. An exact
    agreement on a name carried by n of N persons has u = n/N instead of the average (within
    ``TF_SCALE`` of it either way), so "Krawczyk" weighs more than "Müller"."""

    counts: dict[str, int]
    persons: int

    def surname_weight(self, level: str, query_form: str, candidate_form: str) -> float | None:
        """Weight of an exact (u = n/N of the name) or tolerant surname agreement (u of the
        level scaled by how much rarer or more frequent than average the candidate's name is,
        at most TF_SCALE either way); None when the name was not counted."""
        m, u = M_U["last_name"][level]
        if level == "exakt":
            n = self.counts.get(query_form)
            if n is None or self.persons <= 0:
                return None
            ratio = (max(n, 1) / self.persons) / u
            return math.log2(m / (u * min(max(ratio, 1 / TF_SCALE), TF_SCALE)))
        if level not in TF_LEVELS:
            return None
        n = self.counts.get(candidate_form)
        if n is None or self.persons <= 0:
            return None
        ratio = (max(n, 1) / self.persons) / M_U["last_name"]["exakt"][1]
        return math.log2(m / (u * min(max(ratio, 1 / TF_SCALE), TF_SCALE)))


# Levels whose weight follows the name's frequency (exact: the query's name; tolerant: the
# candidate's), and by how much u may be scaled at most either way (16: ±4 bits).
TF_LEVELS = frozenset({"phonetisch", "Umschrift", "ähnlich"})
TF_SCALE = 16.0


def counted_forms(q: Query) -> set[str]:
    """The name forms whose frequencies the scorer may use (query surname and first name)."""
    return {f for text in (q.last_name, q.first_name) if text for f in name_forms(text)}


def candidate_forms(c: Identity) -> set[str]:
    """The candidate's surname forms whose frequencies the scorer may use."""
    return {f for text in (c.last_name, c.birth_name, *c.aliases) if text
            for f in name_forms(text)}


def name_level(query_text: str, candidate_texts, given: bool,
               freq: Frequencies | None = None) -> tuple[str, str, str, float]:
    """(level, query form, candidate form, weight) of the best-agreeing pair of forms; an exact
    surname agreement weighs by the name's frequency when ``freq`` knows it."""
    best = ("abweichend", "", "", WEIGHTS["first_name" if given else "last_name"]["abweichend"])
    best_weight = -math.inf
    weights = WEIGHTS["first_name" if given else "last_name"]
    q_forms = name_forms(query_text, surname=not given)
    for text in candidate_texts:
        if not text:
            continue
        for b in name_forms(text, surname=not given):
            for a in q_forms:
                level = part_level(a, b, given)
                weight = weights[level]
                if freq is not None and not given:
                    tf = freq.surname_weight(level, a, b)
                    weight = weight if tf is None else tf
                if weight > best_weight:
                    best, best_weight = (level, a, b, weight), weight
                    # Without frequencies every exact form weighs the same: done.
                    if level == "exakt" and (freq is None or given):
                        return best
    return best


@dataclass
class Assessment:
    weight: float
    score: float
    level: str
    match: list[dict]
    fuzzy: bool
    # False when the surname does not even resemble any of the candidate's names: never shown.
    surname_agrees: bool


def _name_item(fld: str, level: str, a: str, b: str, swapped: bool) -> dict:
    item = {"field": fld, "how": level + (" (mit Vorname vertauscht)" if swapped else "")}
    if level not in ("exakt", "abweichend") and a and b:
        item["detail"] = f"{a}/{b}"
    return item


def assess(q: Query, c: Identity, freq: Frequencies | None = None) -> Assessment:
    """Weigh one candidate (a registered person's identity, current addresses only) against a
    person query: per field the strongest agreement level, its weight log2(m/u); a field empty
    on either side weighs nothing. Surname and first name are also tried swapped."""
    surnames = [c.last_name, c.birth_name, *c.aliases]
    given = [c.first_names, *c.aliases]
    has_given = any(t.strip() for t in given if t)
    best = None
    for swapped, q_last, q_first in ((False, q.last_name, q.first_name),
                                     (True, q.first_name, q.last_name)):
        if swapped and not q.first_name:
            continue
        last = name_level(q_last, surnames, given=False, freq=freq)
        first = name_level(q_first, given, given=True) if q_first and has_given else None
        weight = last[3] + (first[3] if first else 0)
        weight -= SWAP_BITS if swapped else 0
        if best is None or weight > best[0]:
            best = (weight, swapped, last[:3], first[:3] if first else None)
    weight, swapped, last, first = best
    match = [_name_item("last_name", *last, swapped)]
    fuzzy = swapped or last[0] not in ("exakt", "phonetisch")
    if q.first_name:
        if first is None:
            match.append({"field": "first_name", "how": MISSING})
        else:
            match.append(_name_item("first_name", *first, swapped))
            fuzzy |= first[0] not in ("exakt", "phonetisch", "Namensvariante")
    if q.date_of_birth is not None:
        if c.date_of_birth is None:
            match.append({"field": "date_of_birth", "how": MISSING})
        else:
            levels = date_levels(q.date_of_birth, c.date_of_birth)
            level = max(levels, key=WEIGHTS["date_of_birth"].__getitem__)
            weight += WEIGHTS["date_of_birth"][level]
            match.append({"field": "date_of_birth", "how": level})
            fuzzy |= level != "exakt"
    if q.postal_code and q.street:
        if not c.addresses:
            match.append({"field": "address", "how": MISSING})
        else:
            value, how = address_agreement(q, c.addresses)
            level = how or "abweichend"
            weight += WEIGHTS["address"][level]
            match.append({"field": "address", "how": level})
            fuzzy |= value < 0.9
    value = 1.0 / (1.0 + 2.0 ** (FLOOR_BITS - weight))
    surname_agrees = last[0] != "abweichend"
    # Precision rules: a surname that resembles none of the candidate's names, or a date of
    # birth known on both sides that agrees in nothing (not even the year), is never enough for
    # "möglich" — unless, for the date, the address agrees (same street or same address).
    dates_differ = any(m["field"] == "date_of_birth" and m["how"] == "abweichend"
                       for m in match)
    address_agrees = any(m["field"] == "address" and m["how"] in (
        "gleiche Anschrift", "gleiche Straße") for m in match)
    if not surname_agrees or (dates_differ and not address_agrees):
        value = min(value, thresholds()[0] * 0.99)
    value = round(value, 3)
    return Assessment(weight, value, match_level(value), match, fuzzy, surname_agrees)


def score(q: Query, c: Identity) -> tuple[float, list[dict]]:
    """(score in 0..1, [{"field", "how"[, "detail"]}]) of one candidate for a person query.

    The score is the match probability from the total weight (``assess``); a candidate whose
    surname resembles none of its names stays below ``SCORE_FLOOR`` whatever else agrees.
    """
    a = assess(q, c)
    return a.score, a.match


def explain(match: list[dict]) -> str:
    """One German line: what agrees and what differs ("Name: phonetisch (vogt/voigt), ...")."""
    labels = {"last_name": "Name", "first_name": "Vorname", "date_of_birth": "Geburtsdatum",
              "address": "Anschrift"}
    parts = []
    for item in match:
        text = f"{labels.get(item['field'], item['field'])}: {item['how']}"
        if item.get("detail"):
            text += f" ({item['detail']})"
        parts.append(text)
    return ", ".join(parts)


FUZZY_HOWS = frozenset({"ähnlich", "entfernt ähnlich", "Umschrift", "Tag und Monat vertauscht",
                        "eine Ziffer abweichend", "wenige Tage abweichend",
                        "Jahr um eins abweichend", "gleiche Postleitzahl", "abweichend",
                        "nur Geburtsjahr"})


def is_fuzzy(match: list[dict]) -> bool:
    """True if the agreement needed a tolerance or a field disagrees (a missing field does not
    count: it is neither for nor against)."""
    return any(m["how"] in FUZZY_HOWS or "vertauscht)" in m["how"] for m in match)


def address_agreement(q: Query, addresses) -> tuple[float, str]:
    postal = normalise_postal_code(q.postal_code)
    street = normalise_street(q.street)
    number = normalise_house_number(q.house_number)
    best = (0.0, "")
    for c_street, c_number, c_postal in addresses:
        if normalise_postal_code(c_postal) != postal:
            continue
        value, how = 0.5, "gleiche Postleitzahl"
        if street and JaroWinkler.normalized_similarity(street, normalise_street(c_street)) >= 0.9:
            value, how = 0.9, "gleiche Straße"
            if number and number == normalise_house_number(c_number):
                value, how = 1.0, "gleiche Anschrift"
        best = max(best, (value, how))
    return best
