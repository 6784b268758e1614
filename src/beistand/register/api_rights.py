"""API: rights of the registered person (GDPR Art. 14-21), mounted at ``/register``.

ZKS: create, defer and decide requests. DPO: read everything (requests, letters, access
reports), decide nothing. Every other role: 403. Letters and reports are PDFs rendered on demand.
"""

import base64
from datetime import date, datetime

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from ninja import Router, Schema, Status
from pydantic import Field

from beistand.accounts.api_auth import authorised, role_check
from beistand.core.api import Str, StrictSchema
from beistand.register import services as register

router = Router(tags=["Register: Betroffenenrechte"])

_PDF_RESPONSE = {
    "responses": {
        200: {"description": "Das Schreiben als PDF (DIN A4, DIN 5008).",
              "content": {"application/pdf": {"schema": {"type": "string",
                                                         "format": "binary"}}}},
    },
}




class RequestIn(StrictSchema):
    kind: Str = Field(max_length=10, description="art15, art16, art17, art18 oder art21")
    received_on: date | None = Field(default=None, description="Eingang; leer: heute")
    details: Str = Field(default="", max_length=5000)


class DecisionIn(StrictSchema):
    decision: Str = Field(max_length=10, description="granted/refused; bei Art. 14: done")
    reason: Str = Field(default="", max_length=5000)
    changes: dict | None = Field(default=None, description="nur Berichtigung (Art. 16): "
                                 "last_name, first_names, birth_name, aliases, date_of_birth, "
                                 "address {street, house_number, postal_code, city}")


class DeferIn(StrictSchema):
    reason: Str = Field(default="", max_length=5000)
    defer_until: date | None = None


class RequestOut(Schema):
    id: int
    person_id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    received_on: date
    due_on: date
    overdue: bool
    details: str
    decision_reason: str
    defer_until: date | None
    decided_at: datetime | None
    letter_url: str


class DecisionOut(RequestOut):
    # Only for a granted erasure: the letter, produced once before the data was purged.
    letter_pdf_base64: str | None = None


def _out(req) -> dict:
    from django.utils import timezone

    overdue = register.rights_request_is_due(req, timezone.localdate())
    return {
        "id": req.pk, "person_id": req.person_id, "kind": req.kind,
        "kind_label": req.get_kind_display(), "state": req.state,
        "state_label": req.get_state_display(), "received_on": req.received_on,
        "due_on": req.due_on, "overdue": overdue, "details": req.details,
        "decision_reason": req.decision_reason, "defer_until": req.defer_until,
        "decided_at": req.decided_at,
        "letter_url": f"/api/v1/register/rights-requests/{req.pk}/letter.pdf",
    }


def _pdf(filename: str, pdf: bytes) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"  # personal data: no copy in caches
    return response


@router.post("/persons/{int:person_id}/rights-requests", response={201: RequestOut},
             summary="Antrag der betroffenen Person erfassen",
             auth=authorised(role_check(*register.DECIDING_ROLES)),
             operation_id="rights_request_create")
def create_request(request, person_id: int, payload: RequestIn):
    """Erfasst einen Antrag (Art. 15, 16, 17, 18, 21 DSGVO) mit Frist von einem Monat
    (Art. 12 Abs. 3). Nur ZKS."""
    from django.utils import timezone

    req = register.create_rights_request(request.auth, person_id, payload.kind,
                                payload.received_on or timezone.localdate(), payload.details)
    return Status(201, _out(req))


@router.get("/rights-requests", response=list[RequestOut], summary="Anträge und Fristen",
            operation_id="rights_requests_list")
def list_requests(request, state: str | None = None, person_id: int | None = None):
    """Alle Anträge, nächste Frist zuerst. `state=open` (offen/zurückgestellt), `overdue`
    (Frist oder Wiedervorlage erreicht) oder ein Status. ZKS und Datenschutzbeauftragte/r."""
    return [_out(r) for r in register.list_rights_requests(request.auth, state=state,
                                                  person_id=person_id)]


@router.get("/rights-requests/{int:request_id}", response=RequestOut, summary="Ein Antrag",
            operation_id="rights_request_get")
def get_request(request, request_id: int):
    return _out(register.get_rights_request(request.auth, request_id))


@router.post("/rights-requests/{int:request_id}/decision", response=DecisionOut,
             summary="Über einen Antrag entscheiden",
             auth=authorised(role_check(*register.DECIDING_ROLES)),
             operation_id="rights_request_decide")
def decide(request, request_id: int, payload: DecisionIn):
    """`granted`/`refused` mit Begründung; Art. 14: `done` (Information versandt). Bei
    stattgegebener Löschung enthält die Antwort das Schreiben (Base64), weil es danach nicht
    mehr erzeugt werden kann. Nur ZKS."""
    result = register.decide_rights_request(request.auth, request_id, payload.decision,
                                            payload.reason, payload.changes)
    out = _out(result.request)
    if result.letter_pdf is not None:
        out["letter_pdf_base64"] = base64.b64encode(result.letter_pdf).decode("ascii")
    return out


@router.post("/rights-requests/{int:request_id}/defer", response=RequestOut,
             summary="Information nach Art. 14 zurückstellen",
             auth=authorised(role_check(*register.DECIDING_ROLES)),
             operation_id="rights_request_defer")
def defer(request, request_id: int, payload: DeferIn):
    """Zurückstellung nach DSG NRW § 11 mit Begründung und Datum der erneuten Prüfung.
    Nur ZKS."""
    return _out(register.defer_rights_request(request.auth, request_id, payload.reason,
                                              payload.defer_until))


@router.get("/rights-requests/{int:request_id}/letter.pdf", summary="Schreiben (PDF)",
            openapi_extra=_PDF_RESPONSE, operation_id="rights_request_letter")
def letter(request, request_id: int):
    """Art. 14: die Information; sonst das Entscheidungsschreiben (bei stattgegebener
    Auskunft die vollständige Auskunft). ZKS und Datenschutzbeauftragte/r."""
    return _pdf(*register.letter_pdf(request.auth, request_id))


@router.get("/persons/{int:person_id}/access-report", summary="Auskunft nach Art. 15 (JSON)",
            operation_id="rights_access_report")
def access_report(request, person_id: int):
    """Alle Daten zur Person, Zwecke, Empfänger, Abfragen je Organisationseinheit – ohne
    Angaben zu Meldenden und ohne Namen der Abfragenden. ZKS und Datenschutzbeauftragte/r."""
    return register.access_report(request.auth, person_id)


@router.get("/persons/{int:person_id}/access-report.pdf", summary="Auskunft nach Art. 15 (PDF)",
            openapi_extra=_PDF_RESPONSE, operation_id="rights_access_report_pdf")
def access_report_pdf(request, person_id: int):
    return _pdf(*register.access_report_pdf(request.auth, person_id))
