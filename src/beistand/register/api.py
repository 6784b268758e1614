"""API: case-by-case register look-ups (Auskunft) for holders of a querier grant.

There is deliberately no list endpoint of persons: a querier only ever sees the candidates of one
logged look-up, and a candidate's details only through a second, logged request.
"""

from datetime import date

from ninja import Router, Schema
from pydantic import Field

from beistand.core.api import Id, Str, StrictSchema
from beistand.register import services as register

router = Router(tags=["Register"])




class LookupIn(StrictSchema):
    """A person look-up (last name plus first name, date of birth or address), or an address
    look-up (street and postal code, optionally house number, without a last name)."""

    purpose: Str = Field(default="", max_length=500)
    last_name: Str = Field(default="", max_length=100)
    first_name: Str = Field(default="", max_length=150)
    date_of_birth: date | None = None
    street: Str = Field(default="", max_length=150)
    house_number: Str = Field(default="", max_length=20)
    postal_code: Str = Field(default="", max_length=10)
    city: Str = Field(default="", max_length=100)


class MatchOut(Schema):
    field: str = Field(description="last_name, first_name, date_of_birth oder address")
    how: str = Field(description="Übereinstimmungsstufe des Felds, z. B. „exakt“, "
                     "„phonetisch“, „Tag und Monat vertauscht“, „im Register nicht erfasst“")
    detail: str = Field(default="", description="verglichene Schreibweisen, z. B. „vogt/voigt“")


class CandidateOut(Schema):
    entry_id: int
    last_name: str
    first_names: str
    date_of_birth: date | None
    hazard_level: int
    last_incident_on: date | None
    measures: list[str]
    score: float = Field(description="Trefferwahrscheinlichkeit des Modells (0..1)")
    level: str = Field(description="„sicher“, „wahrscheinlich“ oder „möglich“")
    explanation: str = Field(description="eine Zeile: was übereinstimmt und was abweicht")
    match: list[MatchOut]


class LookupOut(Schema):
    id: int
    kind: str
    candidates: list[CandidateOut]


class IncidentOut(Schema):
    incident_date: date
    hazard_level: int
    offences: list[str]


class ContactOut(Schema):
    name: str
    phone: str
    email: str


class DetailOut(Schema):
    id: int
    entry_id: int
    last_name: str
    first_names: str
    date_of_birth: date | None
    hazard_level: int
    last_incident_on: date | None
    measures: list[str]
    incidents: list[IncidentOut]
    zks_contact: ContactOut | None


@router.post("/lookups", response={200: LookupOut}, operation_id="register_lookup_create")
def create_lookup(request, body: LookupIn):
    """Auskunft: bis zu 10 Kandidaten, bestbewertete zuerst; jede Abfrage wird protokolliert."""
    if not body.last_name.strip() and (body.street.strip() or body.postal_code.strip()) \
            and not body.first_name.strip() and body.date_of_birth is None:
        return register.lookup_address(request.auth, body.purpose, body.street, body.postal_code,
                                     body.house_number)
    return register.lookup_person(request.auth, body.purpose, body.last_name, body.first_name,
                                body.date_of_birth, body.street, body.postal_code, body.city,
                                body.house_number)


@router.get("/lookups/{lookup_id}/persons/{person_id}", response=DetailOut,
            operation_id="register_lookup_detail")
def lookup_detail(request, lookup_id: Id, person_id: Id):
    """Zweiter Klick: Vorfälle (Kategorien, Daten) und Maßnahmen; wird ebenfalls protokolliert."""
    return register.lookup_detail(request.auth, lookup_id, person_id)
