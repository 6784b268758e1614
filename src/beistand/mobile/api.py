"""API of the phone web app: its configuration, a device token from the browser session, and the
lone-worker timer (``/visits``). Mounted at ``/api/v1/`` by ``beistand.api``."""

from datetime import datetime
from typing import Annotated

from ninja import Router, Schema, Status
from pydantic import Field

from beistand.accounts.api_auth import authorised
from beistand.core.api import Id, Str, StrictSchema
from beistand.mobile import services

router = Router(tags=["Handy-App"])

Coordinate = Annotated[float, Field(allow_inf_nan=False)]


class PositionIn(StrictSchema):
    lat: Coordinate = Field(ge=-90, le=90)
    lon: Coordinate = Field(ge=-180, le=180)
    accuracy_m: Coordinate | None = Field(default=None, ge=0, le=100_000)


class DeviceTokenIn(StrictSchema):
    device_name: Str = Field(default="", max_length=60)


class DeviceTokenOut(Schema):
    id: int
    token: str
    expires_at: datetime | None


class VisitIn(StrictSchema):
    address: Str = Field(min_length=3, max_length=200)
    minutes: int = Field(ge=1, le=24 * 60)
    note: Str = Field(default="", max_length=200)
    position: PositionIn | None = None
    lookup_id: Id | None = None


class CheckinIn(StrictSchema):
    minutes: int = Field(ge=1, le=24 * 60)


class VisitOut(Schema):
    id: int
    state: str
    state_label: str
    address: str
    note: str
    started_at: datetime
    expected_end: datetime
    checkin_at: datetime
    prealarm_at: datetime
    alarm_at: datetime
    alarm_id: int | None
    server_time: datetime


def _visit(visit) -> dict:
    from django.utils import timezone

    return {"id": visit.pk, "state": visit.state, "state_label": visit.get_state_display(),
            "address": visit.address, "note": visit.note, "started_at": visit.started_at,
            "expected_end": visit.expected_end, "checkin_at": visit.checkin_at,
            "prealarm_at": visit.prealarm_at, "alarm_at": visit.alarm_at,
            "alarm_id": visit.alarm_id, "server_time": timezone.now()}


@router.get("/app/config", operation_id="app_config")
def config(request):
    """Einstellungen der Handy-App: Auslöseart, SMS-Rückfallnummer, Zeitalarm."""
    return services.app_config(request.auth)


@router.post("/app/device-token", response={201: DeviceTokenOut}, operation_id="app_device_token")
def device_token(request, payload: DeviceTokenIn | None = None):
    """Ein langlebiges Token für dieses Telefon – nur aus einer angemeldeten Browsersitzung."""
    clear, token = services.issue_device_token(request, payload.device_name if payload else "")
    return Status(201, {"id": token.pk, "token": clear, "expires_at": token.expires_at})


@router.post("/visits", response={201: VisitOut}, operation_id="visit_start")
def start_visit(request, payload: VisitIn):
    """Besuch mit Zeitalarm starten."""
    position = None if payload.position is None else payload.position.model_dump()
    visit = services.start(request.auth, address=payload.address, minutes=payload.minutes,
                           note=payload.note, position=position, lookup_id=payload.lookup_id)
    return Status(201, _visit(visit))


@router.get("/visits/current", response={200: VisitOut, 204: None}, operation_id="visit_current")
def current_visit(request):
    """Der laufende Besuch (oder 204, wenn keiner läuft)."""
    visit = services.current(request.auth)
    if visit is None:
        return Status(204, None)
    return _visit(visit)


@router.get("/visits/{int:visit_id}", response=VisitOut, operation_id="visit_detail")
def visit_detail(request, visit_id: int):
    return _visit(services.get(request.auth, visit_id))


def _own_visit(user, visit_id, **_path):
    """Before the body is read: somebody else's visit is a 404."""
    services.get(user, visit_id)


@router.post("/visits/{int:visit_id}/checkin", response=VisitOut, auth=authorised(_own_visit),
             operation_id="visit_checkin")
def checkin(request, visit_id: int, payload: CheckinIn):
    """„Alles in Ordnung“ – der Besuch dauert noch ``minutes`` Minuten."""
    return _visit(services.checkin(request.auth, visit_id, payload.minutes))


@router.post("/visits/{int:visit_id}/end", response=VisitOut, operation_id="visit_end")
def end(request, visit_id: int):
    """Besuch beendet, alles in Ordnung."""
    return _visit(services.end(request.auth, visit_id))


@router.post("/visits/{int:visit_id}/position", response=VisitOut, auth=authorised(_own_visit),
             operation_id="visit_position")
def position(request, visit_id: int, payload: PositionIn):
    return _visit(services.report_position(request.auth, visit_id, payload.lat, payload.lon,
                                           payload.accuracy_m))
