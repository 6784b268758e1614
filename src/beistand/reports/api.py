"""API: incident reports, their workflow and attachments; the catalogues; help requests.

Thin layer: bodies are validated by strict schemas (unknown fields are an error), mapped to the
service dataclasses, and every rule lives in ``services``, ``attachments`` and ``help``. A full
report (with perpetrator data) is only ever produced by ``services.get_report``, an audited read;
list endpoints carry no perpetrator data and no narrative.
"""

from datetime import date, datetime
from typing import Annotated, Literal

from django.http import FileResponse
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from beistand.accounts.api_auth import authorised
from beistand.core.api import Id, Str, StrictSchema
from beistand.core.errors import InvalidInput, NotFound
from beistand.organisation import services as org
from beistand.reports import attachments, services, workflow
from beistand.reports import help as help_service
from beistand.reports.models import HelpRequest, Report

reports_router = Router(tags=["Meldungen"])
catalogue_router = Router(tags=["Kataloge"])
help_router = Router(tags=["Hilfsangebote"])

Coordinate = Annotated[float, Field(allow_inf_nan=False)]


class LocationIn(StrictSchema):
    kind: Literal["office", "field"]
    room_id: Id | None = None
    address: Str = Field(default="", max_length=300)
    lat: Coordinate | None = None
    lon: Coordinate | None = None


class PerpetratorIn(StrictSchema):
    known: bool = True
    last_name: Str = Field(default="", max_length=100)
    first_names: Str = Field(default="", max_length=150)
    birth_name: Str = Field(default="", max_length=100)
    aliases: list[Annotated[Str, Field(max_length=100)]] = Field(default_factory=list,
                                                                 max_length=20)
    date_of_birth: date | None = None
    street: Str = Field(default="", max_length=150)
    house_number: Str = Field(default="", max_length=20)
    postal_code: Str = Field(default="", max_length=10)
    city: Str = Field(default="", max_length=100)
    description: Str = Field(default="", max_length=5000)


class WitnessIn(StrictSchema):
    employee_id: Id | None = None
    name: Str = Field(default="", max_length=200)
    contact: Str = Field(default="", max_length=200)


class ReportIn(StrictSchema):
    occurred_at: datetime
    location: LocationIn = Field(default_factory=lambda: LocationIn(kind="office"))
    offences: list[Str] = Field(default_factory=list, max_length=30)
    description: Str = Field(default="", max_length=20000)
    victims: list[Id] | None = Field(default=None, max_length=50)
    perpetrators: list[PerpetratorIn] = Field(default_factory=list, max_length=20)
    witnesses: list[WitnessIn] = Field(default_factory=list, max_length=30)
    injuries: Str = Field(default="", max_length=5000)
    incapacity_days: int | None = None
    police_on_site: bool = False
    police_on_site_file_number: Str = Field(default="", max_length=60)
    house_ban_issued: bool = False
    from_other_authority: bool = False
    help_offers: list[Str] = Field(default_factory=list, max_length=20)
    submit: bool = False


def _to_input(payload: ReportIn) -> services.ReportInput:
    loc = payload.location
    if loc.kind == "office":
        # Fields of the other kind are a client mistake, not something to drop silently.
        for name in ("address", "lat", "lon"):
            if getattr(loc, name) not in (None, ""):
                raise InvalidInput("Nur bei Außendienst-Orten (kind „field“) anzugeben.",
                                   field=f"location.{name}")
    elif loc.room_id is not None:
        raise InvalidInput("Ein Raum gehört zu einem Dienststellen-Ort (kind „office“).",
                           field="location.room_id")
    return services.ReportInput(
        occurred_at=payload.occurred_at,
        offences=list(payload.offences),
        description=payload.description,
        location_kind=loc.kind,
        room_id=loc.room_id,
        address=loc.address,
        lat=loc.lat,
        lon=loc.lon,
        victim_ids=list(payload.victims) if payload.victims else None,
        perpetrators=[services.PerpetratorInput(**p.model_dump()) for p in payload.perpetrators],
        witnesses=[services.WitnessInput(**w.model_dump()) for w in payload.witnesses],
        injuries=payload.injuries,
        incapacity_days=payload.incapacity_days,
        police_on_site=payload.police_on_site,
        police_on_site_file_number=payload.police_on_site_file_number,
        house_ban_issued=payload.house_ban_issued,
        from_other_authority=payload.from_other_authority,
        help_offers=list(payload.help_offers),
    )


class VictimIn(StrictSchema):
    employee_id: int = Field(ge=1, le=2**63 - 1)


class TransitionIn(StrictSchema):
    action: Str = Field(max_length=30)
    comment: Str = Field(default="", max_length=5000)
    reason: Str = Field(default="", max_length=500)
    police_file_number: Str = Field(default="", max_length=60)
    complaint_date: date | None = None
    house_ban_date: date | None = None


# --- Output ------------------------------------------------------------------------------------

class PersonRef(Schema):
    id: int
    name: str


class OffenceOut(Schema):
    code: str
    label: str
    level: int
    attack: bool


class HelpOfferOut(Schema):
    code: str
    label: str
    description: str
    unit_code: str


class LocationOut(Schema):
    kind: str
    room_id: int | None
    room: str
    address: str
    lat: float | None
    lon: float | None


class PerpetratorOut(Schema):
    known: bool
    last_name: str
    first_names: str
    birth_name: str
    aliases: list[str]
    date_of_birth: date | None
    street: str
    house_number: str
    postal_code: str
    city: str
    description: str


class WitnessOut(Schema):
    employee_id: int | None
    name: str
    contact: str


class HistoryOut(Schema):
    action: str
    from_: str = Field(alias="from")
    to: str
    at: datetime
    actor: str
    comment: str


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


class ReportRef(Schema):
    id: int
    reference: str


class HelpRequestOut(Schema):
    id: int
    offer: HelpOfferOut
    state: str
    state_label: str
    note: str
    victim: PersonRef
    owner: PersonRef | None
    report: ReportRef | None
    created_at: datetime
    updated_at: datetime
    mine: bool
    handling: bool


class ReportOut(Schema):
    id: int
    reference: str
    status: str
    status_label: str
    hazard_level: int
    attack: bool
    occurred_at: datetime
    location: LocationOut
    offences: list[OffenceOut]
    description: str
    reporter: PersonRef
    victims: list[PersonRef]
    perpetrators: list[PerpetratorOut]
    witnesses: list[WitnessOut]
    injuries: str
    incapacity_days: int | None
    police_on_site: bool
    police_on_site_file_number: str
    house_ban_issued: bool
    from_other_authority: bool
    police_file_number: str
    complaint_date: date | None
    house_ban_date: date | None
    close_reason: str
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    overdue: bool
    allowed_actions: list[str]
    may_attach: bool
    history: list[HistoryOut]
    attachments: list[AttachmentOut]
    help_requests: list[HelpRequestOut]


class ReportListItem(Schema):
    id: int
    reference: str
    status: str
    status_label: str
    hazard_level: int
    attack: bool
    occurred_at: datetime
    location_kind: str
    offences: list[str]
    reporter: PersonRef
    created_at: datetime
    due_at: datetime | None
    overdue: bool


class ReportPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ReportListItem]


def _person(employee) -> dict | None:
    if employee is None:
        return None
    return {"id": employee.pk, "name": employee.full_name}


def _overdue(report: Report) -> bool:
    return bool(report.due_at and report.due_at < timezone.now()
                and report.status not in workflow.FINAL_STATES)


def _help_out(user, hr: HelpRequest, owned: set[str] | None = None) -> dict:
    employee = org.employee_of(user)
    if owned is None:
        owned = help_service.owned_unit_codes(employee)
    return {
        "id": hr.pk,
        "offer": hr.offer,
        "state": hr.state,
        "state_label": hr.get_state_display(),
        "note": hr.note,
        "victim": _person(hr.victim),
        "owner": _person(hr.owner),
        "report": {"id": hr.report.pk, "reference": hr.report.reference} if hr.report else None,
        "created_at": hr.created_at,
        "updated_at": hr.updated_at,
        "mine": employee is not None and hr.victim_id == employee.pk,
        "handling": hr.offer.unit_code in owned,
    }


def _help_list(user, requests) -> list[dict]:
    owned = help_service.owned_unit_codes(org.employee_of(user))
    return [_help_out(user, hr, owned) for hr in requests]


def _detail(user, report: Report) -> dict:
    witnesses = []
    for w in report.witnesses.select_related("employee"):
        witnesses.append({"employee_id": w.employee_id,
                          "name": w.name or (w.employee.full_name if w.employee else ""),
                          "contact": w.contact})
    history = [{"action": h.action, "from": h.from_status, "to": h.to_status, "at": h.at,
                "actor": org.display_name(h.actor), "comment": h.comment}
               for h in report.history.select_related("actor", "actor__employee")]
    return {
        "id": report.pk,
        "reference": report.reference,
        "status": report.status,
        "status_label": report.get_status_display(),
        "hazard_level": report.hazard_level,
        "attack": report.attack,
        "occurred_at": report.occurred_at,
        "location": {
            "kind": report.location_kind,
            "room_id": report.room_id,
            "room": str(report.room) if report.room else "",
            "address": report.address,
            "lat": float(report.latitude) if report.latitude is not None else None,
            "lon": float(report.longitude) if report.longitude is not None else None,
        },
        "offences": list(report.offences.all()),
        "description": report.description,
        "reporter": _person(report.reporter),
        "victims": [_person(v) for v in report.victims.all()],
        "perpetrators": list(report.perpetrators.order_by("pk")),
        "witnesses": witnesses,
        "injuries": report.injuries,
        "incapacity_days": report.incapacity_days,
        "police_on_site": report.police_on_site,
        "police_on_site_file_number": report.police_on_site_file_number,
        "house_ban_issued": report.house_ban_issued,
        "from_other_authority": report.from_other_authority,
        "police_file_number": report.police_file_number,
        "complaint_date": report.complaint_date,
        "house_ban_date": report.house_ban_date,
        "close_reason": report.close_reason,
        "created_at": report.created_at,
        "updated_at": report.updated_at,
        "due_at": report.due_at,
        "overdue": _overdue(report),
        "allowed_actions": services.allowed_actions(user, report),
        "may_attach": attachments.may_attach(user, report),
        "history": history,
        "attachments": [{"id": a.pk, "name": a.original_name, "content_type": a.content_type,
                         "size": a.size, "sha256": a.sha256, "uploaded_at": a.uploaded_at}
                        for a in report.attachments.order_by("pk")],
        "help_requests": _help_list(user, help_service.help_requests_of_report(user, report)),
    }


def _read(request, report_id: int, purpose: str) -> dict:
    report = services.get_report(request.auth, report_id, purpose=purpose)
    return _detail(request.auth, report)


def _list_item(report: Report) -> dict:
    return {
        "id": report.pk,
        "reference": report.reference,
        "status": report.status,
        "status_label": report.get_status_display(),
        "hazard_level": report.hazard_level,
        "attack": report.attack,
        "occurred_at": report.occurred_at,
        "location_kind": report.location_kind,
        "offences": [o.code for o in report.offences.all()],
        "reporter": _person(report.reporter),
        "created_at": report.created_at,
        "due_at": report.due_at,
        "overdue": _overdue(report),
    }


# --- Catalogues ---------------------------------------------------------------------------------

@catalogue_router.get("/offences", response=list[OffenceOut], operation_id="catalogue_offences")
def offences(request):
    """The active offences with hazard level (Aachener Modell) and zero-tolerance flag."""
    return services.offence_catalogue()


@catalogue_router.get("/help-offers", response=list[HelpOfferOut],
                      operation_id="catalogue_help_offers")
def help_offers(request):
    """The active help offers with the code of the responsible unit."""
    return services.help_offer_catalogue()


# --- Reports ------------------------------------------------------------------------------------

class ListParams(Schema):
    scope: Literal["mine", "queue", "visible"] = "visible"
    limit: int = Field(default=50, ge=1, le=200)
    # Bounded: an offset beyond any real list is a bad request, not a database error.
    offset: int = Field(default=0, ge=0, le=1_000_000)


@reports_router.get("", response=ReportPage, operation_id="reports_list")
def list_reports(request, params: Query[ListParams]):
    """Reports without perpetrator data: ``mine`` (own), ``queue`` (waiting for the caller),
    ``visible`` (everything the caller may see)."""
    # Reading others' reports is audited (reports.services.read_list).
    count, page = services.read_list(request.auth, params.scope, limit=params.limit,
                                     offset=params.offset)
    return {"count": count, "limit": params.limit, "offset": params.offset,
            "items": [_list_item(r) for r in page]}


def _report_visible(user, report_id, **_path):
    """Before the body is read: a report the caller may not see is a 404 (as everywhere)."""
    if not services.visible_reports(user).filter(pk=report_id).exists():
        raise NotFound("Diese Meldung gibt es nicht oder Sie dürfen sie nicht sehen.")


def _help_request_visible(user, request_id, **_path):
    if not help_service.visible_help_requests(user).filter(pk=request_id).exists():
        raise NotFound("Diese Hilfeanfrage gibt es nicht.")


@reports_router.post("", response={201: ReportOut}, by_alias=True, operation_id="report_create")
def create_report(request, payload: ReportIn):
    """Report an incident: as draft, or with ``"submit": true`` straight to the supervisor."""
    report = services.create_report(request.auth, _to_input(payload), submit=payload.submit)
    return Status(201, _read(request, report.pk, "Meldung erstellt"))


@reports_router.get("/{int:report_id}", response=ReportOut, by_alias=True,
                    operation_id="report_get")
def get_report(request, report_id: int, purpose: str = ""):
    """One report with its history and the actions the caller may take (an audited read)."""
    purpose = "".join(ch for ch in purpose if ch.isprintable())[:500]
    return _read(request, report_id, purpose or "Meldung angezeigt")


@reports_router.patch("/{int:report_id}", response=ReportOut, by_alias=True,
                      auth=authorised(_report_visible), operation_id="report_update")
def update_report(request, report_id: int, payload: ReportIn):
    """The reporter edits a draft or returned report (the whole body, as for creation)."""
    services.update_report(request.auth, report_id, _to_input(payload), submit=payload.submit)
    return _read(request, report_id, "Meldung bearbeitet")


@reports_router.post("/{int:report_id}/transitions", response=ReportOut,
                     by_alias=True, auth=authorised(_report_visible),
                     operation_id="report_transition")
def take_action(request, report_id: int, payload: TransitionIn):
    """Take a workflow step; a step not allowed now is a 409 naming ``allowed_actions``."""
    services.transition(request.auth, report_id, payload.action,
                        payload.model_dump(exclude={"action"}))
    return _read(request, report_id, f"Bearbeitung: {payload.action}")


@reports_router.post("/{int:report_id}/victims", response=ReportOut,
                     by_alias=True, auth=authorised(_report_visible),
                     operation_id="report_victim_confirm")
def confirm_victim(request, report_id: int, payload: VictimIn):
    """The reporter's direct supervisor confirms a colleague as victim whom the reporter could
    not name (not in their unit, not at the location); before release, never by the author."""
    services.confirm_victim(request.auth, report_id, payload.employee_id)
    return _read(request, report_id, "Betroffene Person bestätigt")


# --- Attachments --------------------------------------------------------------------------------

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "JPEG, PNG, HEIC oder PDF"}}}}},
    },
}


@reports_router.post("/{int:report_id}/attachments", response={201: AttachmentOut},
                     openapi_extra=_UPLOAD_BODY, operation_id="report_attachment_upload")
def upload_attachment(request, report_id: int):
    """Add a photo or PDF (multipart field ``file``); type by content, size limited (413/415)."""
    user = request.auth
    # Refuse before the body is read: who may attach, and an announced size beyond the limit.
    attachments.check_may_attach(user, report_id)
    try:
        announced = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        announced = 0
    if announced > attachments.max_bytes() + 1024 * 1024:
        raise attachments.too_large_error()
    if not hasattr(request, "_files"):
        request.upload_handlers.insert(0, attachments.SizeLimitUploadHandler(request))
    files = request.FILES
    if getattr(request, "upload_too_large", False):
        raise attachments.too_large_error()
    attachment = attachments.add_attachment(user, report_id, files.get("file"))
    return Status(201, {"id": attachment.pk, "name": attachment.original_name,
                        "content_type": attachment.content_type, "size": attachment.size,
                        "sha256": attachment.sha256, "uploaded_at": attachment.uploaded_at})


@reports_router.get("/{int:report_id}/attachments/{int:attachment_id}",
                    response={200: None}, operation_id="report_attachment_download")
def download_attachment(request, report_id: int, attachment_id: int):
    """The file, as a download (never rendered inline); the read is audited."""
    attachment = attachments.open_attachment(request.auth, report_id, attachment_id)
    response = FileResponse(attachment.file, as_attachment=True,
                            filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- Help requests ------------------------------------------------------------------------------

class HelpRequestIn(StrictSchema):
    report_id: Id | None = None
    offers: list[Str] = Field(max_length=20)


class HelpUpdateIn(StrictSchema):
    state: Literal["requested", "in_progress", "done", "declined"]
    note: Str | None = Field(default=None, max_length=help_service.NOTE_MAX)


@help_router.get("", response=list[HelpRequestOut], operation_id="help_requests_list")
def list_help_requests(request):
    """Own help requests and those the caller's unit handles (nobody else sees them)."""
    return _help_list(request.auth, help_service.list_help_requests(request.auth))


@help_router.post("", response={201: list[HelpRequestOut]}, operation_id="help_request_create")
def request_help(request, payload: HelpRequestIn):
    """Ask for help offers for yourself, with a report of yours or on their own."""
    created = help_service.request_help(request.auth, payload.report_id, payload.offers)
    return Status(201, _help_list(request.auth, created))


@help_router.post("/{int:request_id}", response=HelpRequestOut,
                  auth=authorised(_help_request_visible), operation_id="help_request_update")
def update_help_request(request, request_id: int, payload: HelpUpdateIn):
    """The responsible unit records the state (and a note); the victim may withdraw."""
    hr = help_service.update_help_request(request.auth, request_id, payload.state, payload.note)
    return _help_out(request.auth, hr)
