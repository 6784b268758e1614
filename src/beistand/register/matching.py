"""Name, date and address matching for register look-ups.

Two halves:

* **Keys** (``person_keys``/``rebuild_keys``): precomputed, indexed ``SearchKey`` rows. Every key
  combines two independent facts (a name part with another name part, a date of birth or a postal
  code), so one indexed probe returns a handful of persons, never a whole family of "Meier"s.
  A look-up computes the same keys for every tolerated variant of the query (phonetic name codes,
  swapped first/last name, date of birth with one digit wrong or day/month swapped) and collects
  person ids by exact key equality — the person table is never scanned.
* **Scoring** (``score``): the candidates found are ranked with Jaro-Winkler similarity
  (rapidfuzz) on normalised names, agreement of Kölner Phonetik codes, date-of-birth tolerance and
  address agreement. The formula and the floor are documented in docs/register.md.

Key kinds (values are at most 120 characters):

``nn``  phonetic surname part | phonetic given-name part (every pair; aliases count as both)
``nd``  phonetic name part (surname, birth name, alias or given name) | YYYYMMDD
``na``  phonetic name part | postal code of a current address
``adr`` normalised street | postal code of a current address
``adh`` normalised street | postal code | house number of a current address
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from rapidfuzz.distance import JaroWinkler

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

def date_variants(d: date) -> set[str]:
    """The date and every valid date one digit away from it, plus day and month swapped."""
    text = d.strftime("%Y%m%d")
    out = {text}
    for pos in range(8):
        for digit in "0123456789":
            if digit == text[pos]:
                continue
            candidate = text[:pos] + digit + text[pos + 1:]
            if _valid(candidate):
                out.add(candidate)
    swapped = f"{text[:4]}{text[6:8]}{text[4:6]}"
    if _valid(swapped):
        out.add(swapped)
    return out


def _valid(yyyymmdd: str) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return yyyymmdd[:4] >= "1900"


def date_agreement(query: date, candidate: date) -> tuple[float, str]:
    """(score, how): exact, swapped day/month, one digit off, same year, or none."""
    if query == candidate:
        return 1.0, "exakt"
    q, c = query.strftime("%Y%m%d"), candidate.strftime("%Y%m%d")
    if q[:4] == c[:4] and q[4:6] == c[6:8] and q[6:8] == c[4:6]:
        return 0.8, "Tag und Monat vertauscht"
    if sum(a != b for a, b in zip(q, c, strict=True)) == 1:
        return 0.7, "eine Ziffer abweichend"
    if q[:4] == c[:4]:
        return 0.3, "nur Geburtsjahr"
    return 0.0, ""


# --- Keys -----------------------------------------------------------------------------------

@dataclass
class Identity:
    """What the key builder and the scorer need of a person (also used by the benchmark and the
    import)."""

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


def _surname_codes(ident: Identity) -> set[str]:
    codes = set()
    for text in [ident.last_name, ident.birth_name, *ident.aliases]:
        codes |= phonetic_parts(text)
    return codes


def _given_codes(ident: Identity) -> set[str]:
    codes = phonetic_parts(ident.first_names)
    for alias in ident.aliases:
        codes |= phonetic_parts(alias)
    return codes


def person_keys(ident: Identity) -> set[tuple[str, str]]:
    """All (kind, value) search keys of one identity."""
    surnames, given = _surname_codes(ident), _given_codes(ident)
    keys = {("nn", f"{s}|{g}") for s in surnames for g in given}
    names = surnames | given
    if ident.date_of_birth is not None:
        dob = ident.date_of_birth.strftime("%Y%m%d")
        keys |= {("nd", f"{n}|{dob}") for n in names}
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


def query_keys(q: Query) -> dict[str, set[str]]:
    """Key values to probe, per kind, for every tolerated variant of a person query.

    Last and first name are used both ways round (swapped names), so the first name's parts
    are probed as surnames and vice versa. With a date of birth the name pairs (``nn``) are not
    probed: a person they alone would find has a disagreeing or no date of birth and stays below
    the score floor anyway (see ``score``), and common name pairs are the most expensive probe.
    """
    last, first = phonetic_parts(q.last_name), phonetic_parts(q.first_name)
    names = last | first
    keys: dict[str, set[str]] = {"nn": set(), "nd": set(), "na": set()}
    if q.date_of_birth is None:
        for a in last:
            for b in first:
                keys["nn"] |= {f"{a}|{b}", f"{b}|{a}"}
    if q.date_of_birth is not None:
        dates = date_variants(q.date_of_birth)
        keys["nd"] = {f"{n}|{d}" for n in names for d in dates}
    postal = normalise_postal_code(q.postal_code)
    if postal:
        keys["na"] = {f"{n}|{postal}" for n in names}
    return {k: v for k, v in keys.items() if v}


# --- Scoring --------------------------------------------------------------------------------

WEIGHTS = {"last_name": 0.35, "first_name": 0.25, "date_of_birth": 0.4, "address": 0.2}
DISAGREE_PENALTY = 0.6
FUZZY_PENALTY = 0.75
SWAP_PENALTY = 0.95
NAME_AGREEMENT = 0.75
FUZZY_MARGIN = 0.05
DATE_AGREEMENT = 0.7
SCORE_FLOOR = 0.65


@lru_cache(maxsize=65536)
def part_similarity(a: str, b: str) -> tuple[float, str]:
    """Similarity of two normalised name parts: exact, phonetic (Kölner Phonetik), or typo."""
    if a == b:
        return 1.0, "exakt"
    jw = JaroWinkler.normalized_similarity(a, b)
    if cologne(a) == cologne(b):
        return max(0.9, jw), "phonetisch"
    return jw, "ähnlich"


def _best(query_texts: list[str], candidate_texts: list[str]) -> tuple[float, str]:
    """Best agreement of any query part with any candidate part (umlaut spellings both ways)."""
    best = (0.0, "")
    q_parts = set().union(*(part_variants(t) for t in query_texts))
    c_parts = set().union(*(part_variants(t) for t in candidate_texts))
    for a in q_parts:
        for b in c_parts:
            sim = part_similarity(a, b)
            if sim[0] > best[0]:
                best = sim
    return best


def score(q: Query, c: Identity) -> tuple[float, list[dict]]:
    """(score in 0..1, [{"field", "how"}]) of one candidate (a registered person's identity,
    current addresses only) for a person query.

    1. Agreement per criterion the query gives: surname and first name = best part similarity
       (1.0 exact after normalisation, at least 0.9 for equal Kölner Phonetik codes, else
       Jaro-Winkler); date of birth 1.0 exact, 0.8 day/month swapped, 0.7 one digit off, 0.3 same
       year; address 1.0 same street/number/PLZ, 0.9 same street/PLZ, 0.5 same PLZ.
    2. Weighted mean over the given criteria: surname 0.35, first name 0.25, date of birth 0.4,
       address 0.2; names matched only with first and last name swapped count 0.95 of their value.
    3. Times 0.6 for each criterion that disagrees (name similarity below 0.75, date of birth
       neither exact nor within the tolerance).
    4. Times 0.75 when the query has more fuzzy agreements (typo-level name, tolerant date, swapped
       names, partial address) than it can carry: one with three or more criteria, none with two.
    """
    surnames = [c.last_name, c.birth_name, *c.aliases]
    given = [c.first_names, *c.aliases]
    alignments = []
    for swapped, q_last, q_first in ((False, q.last_name, q.first_name),
                                     (True, q.first_name, q.last_name)):
        if swapped and not q.first_name:
            continue
        last = _best([q_last], surnames)
        first = _best([q_first], given) if q_first else None
        value = last[0] * WEIGHTS["last_name"] + (first[0] * WEIGHTS["first_name"] if first else 0)
        alignments.append((value * (SWAP_PENALTY if swapped else 1.0), swapped, last, first))
    _, swapped, last, first = max(alignments, key=lambda a: a[0])
    factor = SWAP_PENALTY if swapped else 1.0
    total, weight = last[0] * WEIGHTS["last_name"] * factor, WEIGHTS["last_name"]
    disagreements, fuzzy, criteria = 0, int(swapped), 1
    match = []
    if last[0] < NAME_AGREEMENT:
        disagreements += 1
    else:
        fuzzy += last[1] == "ähnlich"
        match.append({"field": "last_name",
                      "how": last[1] + (" (mit Vorname vertauscht)" if swapped else "")})
    if first is not None:
        criteria += 1
        total += first[0] * WEIGHTS["first_name"] * factor
        weight += WEIGHTS["first_name"]
        if first[0] < NAME_AGREEMENT:
            disagreements += 1
        else:
            fuzzy += first[1] == "ähnlich"
            match.append({"field": "first_name", "how": first[1]})
    if q.date_of_birth is not None:
        criteria += 1
        weight += WEIGHTS["date_of_birth"]
        if c.date_of_birth is not None:
            value, how = date_agreement(q.date_of_birth, c.date_of_birth)
            total += value * WEIGHTS["date_of_birth"]
            if value < DATE_AGREEMENT:
                disagreements += 1
            else:
                fuzzy += value < 1.0
                match.append({"field": "date_of_birth", "how": how})
    if q.postal_code:
        criteria += 1
        weight += WEIGHTS["address"]
        value, how = address_agreement(q, c.addresses)
        total += value * WEIGHTS["address"]
        if value:
            fuzzy += value < 0.9
            match.append({"field": "address", "how": how})
    result = total / weight * DISAGREE_PENALTY ** disagreements
    if fuzzy > (1 if criteria >= 3 else 0):
        result *= FUZZY_PENALTY
    return round(result, 3), match


FUZZY_HOWS = frozenset({"ähnlich", "Tag und Monat vertauscht", "eine Ziffer abweichend",
                        "gleiche Postleitzahl"})


def is_fuzzy(match: list[dict]) -> bool:
    """True if the agreement needed a tolerance (typo, date tolerance, swapped names, PLZ only).

    Tolerance is a fallback: when some candidate agrees without any, the look-up shows only such
    candidates (least data; a near miss is rarely the person when an exact one exists).
    """
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
