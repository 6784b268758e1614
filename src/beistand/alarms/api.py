"""API of the silent alarm (docs/alarm-protocol.md): trigger, device trigger URL, the alarm's
actions, the log, coverage, and the SMS gateway's inbound messages and delivery reports."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Query, Router, Schema, Status
from ninja.security import APIKeyHeader
from pydantic import Field

from beistand.accounts.api_auth import authorised
from beistand.accounts.services import device_for_token
from beistand.alarms import coverage, lifecycle, payloads, reporting, services, sms
from beistand.alarms import sms_inbound as inbound
from beistand.alarms.models import Alarm
from beistand.core.api import Id, Str, StrictSchema
from beistand.core.errors import InvalidInput, NotFound

router = Router(tags=["Stiller Alarm"])
device_router = Router(tags=["Stiller Alarm"])
sms_router = Router(tags=["Stiller Alarm"])

# JSON bodies are typed strictly: a number is a JSON number ("5" is refused, not converted), a
# whole number is one (5.0 and true are refused). Query strings (the device trigger URL) are
# text by nature and stay lax.
Coordinate = Annotated[float, Field(allow_inf_nan=False, strict=True)]
ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Source = Literal["desktop", "tray", "hotkey", "desktop_icon", "button", "app", "handsfree",
                 "web", "sms", "phone"]


class PositionIn(StrictSchema):
    lat: Coordinate = Field(ge=-90, le=90)
    lon: Coordinate = Field(ge=-180, le=180)
    accuracy_m: Coordinate | None = Field(default=None, ge=0, le=100_000)


class TriggerIn(StrictSchema):
    template: Str = Field(min_length=1, max_length=30)
    position: PositionIn | None = None
    # Omitted (or null): no idempotency key. An empty text is refused, not taken as "none".
    client_id: ClientId | None = None
    source: Source = "web"
    countdown_s: int | None = Field(default=None, ge=0, le=30, strict=True)
    location_text: Str = Field(default="", max_length=200)
    audience: Literal["plan", "self"] | None = None
    pressed_at: datetime | None = None


class TriggerOut(Schema):
    id: int
    state: str
    persisted_at: datetime | None
    template: str
    countdown_until: datetime | None = None
    deduplicated: bool = False
    pressed_at: datetime | None = None


class RespondIn(StrictSchema):
    response: Literal["coming", "cannot"]


class MessageIn(StrictSchema):
    text: Str = Field(min_length=1, max_length=1000)


class ResolveIn(StrictSchema):
    note: Str = Field(default="", max_length=500)


class TemplateInfo(Schema):
    code: str
    name: str
    priority: int
    sound: str
    test: bool
    come: bool


class PositionOut(Schema):
    lat: float
    lon: float
    accuracy_m: int | None


class SenderOut(Schema):
    first_name: str
    last_name: str
    name: str
    phone: str | None
    mobile: str | None
    unit: str | None


class LocationOut(Schema):
    site: str | None
    address: str | None
    building: str | None
    floor: str | None
    room: str | None
    room_name: str | None
    position: PositionOut | None
    text: str


class RecipientOut(Schema):
    label: str
    tier: int
    online: bool
    delivered_at: datetime | None
    response: Literal["", "coming", "cannot"]
    responded_at: datetime | None
    sms_sent: bool


class TimelineOut(Schema):
    at: datetime
    kind: str
    text: str
    actor: str


class ThreadMessageOut(Schema):
    id: int
    author_label: str
    text: str
    at: datetime


class AlarmDetailOut(Schema):
    id: int
    state: str
    source: str
    template: TemplateInfo
    sender: SenderOut
    location: LocationOut
    triggered_at: datetime
    pressed_at: datetime | None
    persisted_at: datetime | None
    first_delivered_at: datetime | None
    first_ack_at: datetime | None
    resolved_at: datetime | None
    current_tier: int
    recipients: list[RecipientOut]
    timeline: list[TimelineOut]
    messages: list[ThreadMessageOut]


class ActiveAlarmOut(Schema):
    id: int
    state: str
    template: str
    role: Literal["sender", "receiver"]
    sender: SenderOut
    location: LocationOut
    triggered_at: datetime


class AlarmLogRow(Schema):
    id: int
    state: str
    template: str
    sender: str
    location: LocationOut
    triggered_at: datetime
    first_ack_at: datetime | None
    resolved_at: datetime | None
    recipients: int
    coming: int


class RespondOut(Schema):
    alarm_id: int
    response: Literal["coming", "cannot"]


class MessageOut(Schema):
    id: int
    alarm_id: int
    text: str
    at: datetime


class PositionUpdated(Schema):
    alarm_id: int
    updated: bool


class ResolveOut(Schema):
    id: int
    state: str
    resolved_at: datetime | None


class SmsInboundOut(Schema):
    accepted: bool
    alarm_id: int | None = None
    duplicate: bool = False
    answer: Literal["coming", "cannot"] | None = None
    reason: str = ""


class SmsStatusOut(Schema):
    updated: bool


class TemplateOut(Schema):
    code: str
    name: str
    audience: str
    priority: int
    test: bool
    come: bool
    instructions: str


def trigger_out(result: services.Triggered) -> dict:
    alarm = result.alarm
    return {"id": alarm.pk, "state": alarm.state, "persisted_at": alarm.persisted_at,
            "template": alarm.template.code, "countdown_until": alarm.countdown_until,
            "deduplicated": result.deduplicated, "pressed_at": alarm.pressed_at}


def position_dict(p: PositionIn | None) -> dict | None:
    return None if p is None else {"lat": p.lat, "lon": p.lon, "accuracy_m": p.accuracy_m}


@router.get("/alarm-templates", response=list[TemplateOut], operation_id="alarm_templates")
def list_templates(request):
    """Die auslösbaren Alarmvorlagen."""
    return [{"code": t.code, "name": t.name, "audience": t.audience, "priority": t.priority,
             "test": t.test, "come": t.come, "instructions": t.instructions}
            for t in services.templates().filter(triggerable=True)]


@router.post("/alarms", response={200: TriggerOut, 201: TriggerOut}, operation_id="alarm_trigger")
def trigger(request, payload: TriggerIn):
    """Alarm auslösen. 201 erst, wenn der Alarm dauerhaft gespeichert ist; eine wiederholte
    ``client_id`` liefert denselben Alarm (200)."""
    result = services.trigger(user=request.auth, template=payload.template,
                              source=payload.source, position=position_dict(payload.position),
                              client_id=payload.client_id or "",
                              countdown_s=payload.countdown_s,
                              location_text=payload.location_text, audience=payload.audience,
                              pressed_at=payload.pressed_at)
    return Status(201 if result.created else 200, trigger_out(result))


def _alarm_detail(alarm, user) -> dict:
    recipients = list(alarm.recipients.order_by("tier", "label").values(
        "label", "tier", "online", "delivered_at", "response", "responded_at", "sms_sent"))
    return {
        "id": alarm.pk, "state": alarm.state, "source": alarm.source,
        "template": payloads.template_info(alarm.template),
        "sender": payloads.sender_info(alarm), "location": payloads.location_of(alarm),
        "triggered_at": alarm.triggered_at, "pressed_at": alarm.pressed_at,
        "persisted_at": alarm.persisted_at,
        "first_delivered_at": alarm.first_delivered_at, "first_ack_at": alarm.first_ack_at,
        "resolved_at": alarm.resolved_at, "current_tier": alarm.current_tier,
        "recipients": recipients,
        "timeline": list(alarm.timeline.values("at", "kind", "text", "actor")),
        "messages": list(alarm.messages.values("id", "author_label", "text", "at")),
    }


@router.get("/alarms/active", response=list[ActiveAlarmOut], operation_id="alarms_active")
def active(request):
    """Offene Alarme, die ich ausgelöst habe oder empfange."""
    return [{"id": a.pk, "state": a.state, "template": a.template.code,
             "role": "sender" if a.sender_user_id == request.auth.pk else "receiver",
             "sender": payloads.sender_info(a), "location": payloads.location_of(a),
             "triggered_at": a.triggered_at} for a in services.active_for(request.auth)]


class LogFilter(Schema):
    since: datetime | None = Field(default=None, alias="from")
    until: datetime | None = Field(default=None, alias="to")
    template: str | None = None
    state: Literal[tuple(lifecycle.State.values)] | None = None  # the states of the one table


@router.get("/alarms", response=list[AlarmLogRow], operation_id="alarm_log")
def alarm_log(request, filters: Query[LogFilter]):
    """Alarmprotokoll (Sicherheitsdienst, ZKS, Administration)."""
    if filters.since and filters.until and filters.since > filters.until:
        raise InvalidInput("„from“ liegt nach „to“.", field="from")
    rows = reporting.read_log(request.auth, since=filters.since, until=filters.until,
                              template=filters.template, state=filters.state)
    return [{"id": a.pk, "state": a.state, "template": a.template.code,
             "sender": payloads.sender_info(a)["name"],
             "location": payloads.location_of(a), "triggered_at": a.triggered_at,
             "first_ack_at": a.first_ack_at, "resolved_at": a.resolved_at,
             "recipients": a.n_recipients, "coming": a.n_coming} for a in rows]


@router.get("/alarms/coverage", operation_id="alarm_coverage")
def alarm_coverage(request, room: Id | None = None, employee: Id | None = None):
    """Wer bekommt den Alarm jetzt? Je Stufe: Empfänger und ob sie online sind."""
    return coverage.for_request(request.auth, room_id=room, employee_id=employee)


@router.get("/alarms/{int:alarm_id}", response=AlarmDetailOut, operation_id="alarm_detail")
def alarm_detail(request, alarm_id: int):
    alarm = services.get_alarm(request.auth, alarm_id)
    return _alarm_detail(alarm, request.auth)


@router.post("/alarms/{int:alarm_id}/cancel", response=TriggerOut, operation_id="alarm_cancel")
def cancel(request, alarm_id: int):
    alarm = services.cancel(request.auth, alarm_id)
    return trigger_out(services.Triggered(alarm, created=False))


def _on_alarm(user, alarm_id, **_path):
    """Before the body is read: only those on the alarm may answer or write to it."""
    alarm = Alarm.objects.filter(pk=alarm_id).first()
    if alarm is None:
        raise NotFound("Diesen Alarm gibt es nicht.")
    services.participant(alarm, user)


def _own_alarm(user, alarm_id, **_path):
    if not Alarm.objects.filter(pk=alarm_id, sender_user=user).exists():
        raise NotFound("Kein offener Alarm von Ihnen mit dieser Nummer.")


@router.post("/alarms/{int:alarm_id}/respond", auth=authorised(_on_alarm), response=RespondOut,
             operation_id="alarm_respond")
def respond(request, alarm_id: int, payload: RespondIn):
    recipient = services.respond(request.auth, alarm_id, payload.response)
    return {"alarm_id": alarm_id, "response": recipient.response}


@router.post("/alarms/{int:alarm_id}/messages", response={201: MessageOut},
             auth=authorised(_on_alarm), operation_id="alarm_message")
def message(request, alarm_id: int, payload: MessageIn):
    msg = services.post_message(request.auth, alarm_id, payload.text)
    return Status(201, {"id": msg.pk, "alarm_id": alarm_id, "text": msg.text, "at": msg.at})


@router.post("/alarms/{int:alarm_id}/position", auth=authorised(_own_alarm),
             response=PositionUpdated, operation_id="alarm_position")
def position(request, alarm_id: int, payload: PositionIn):
    moved = services.update_position(request.auth, payload.lat, payload.lon, payload.accuracy_m,
                                     alarm_id=alarm_id)
    if not moved:
        raise NotFound("Kein offener Alarm von Ihnen mit dieser Nummer.")
    return {"alarm_id": alarm_id, "updated": True}


@router.post("/alarms/{int:alarm_id}/resolve", response=ResolveOut, operation_id="alarm_resolve")
def resolve(request, alarm_id: int, payload: ResolveIn | None = None):
    alarm = services.resolve(request.auth, alarm_id, payload.note if payload else "")
    return {"id": alarm.pk, "state": alarm.state, "resolved_at": alarm.resolved_at}


# --- Device trigger URL -------------------------------------------------------------------------

class DeviceTriggerQuery(Schema):
    template: str = Field(default="beistand", max_length=30)
    source: Literal["button", "phone", "desktop", "tray", "hotkey", "desktop_icon",
                    "handsfree"] = "button"
    client_id: str = Field(default="", max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    pressed_at: datetime | None = None


def trigger_from_device_url(device_token: str,
                            query: DeviceTriggerQuery | dict) -> services.Triggered:
    """The device trigger URL, for this endpoint and for the trigger's fast path (which passes
    the raw query: an unknown token is answered 404 before its parameters are looked at)."""
    device = device_for_token(device_token)
    if device is None:
        raise NotFound("Unbekanntes oder widerrufenes Geräte-Token.")
    if isinstance(query, dict):
        query = DeviceTriggerQuery.model_validate(query)
    position = None
    if query.lat is not None or query.lon is not None:
        if query.lat is None or query.lon is None:
            raise InvalidInput("Position braucht lat und lon.", field="lat")
        position = {"lat": query.lat, "lon": query.lon, "accuracy_m": query.accuracy_m}
    return services.trigger_by_device(device, template=query.template, source=query.source,
                                      client_id=query.client_id, position=position,
                                      pressed_at=query.pressed_at)


def _device_trigger(request, device_token: str, query: DeviceTriggerQuery):
    result = trigger_from_device_url(device_token, query)
    return Status(201 if result.created else 200, trigger_out(result))


@device_router.post("/trigger/{device_token}", auth=None,
                    response={200: TriggerOut, 201: TriggerOut}, operation_id="device_trigger")
def device_trigger_post(request, device_token: str, query: Query[DeviceTriggerQuery]):
    """Auslösen über die Geräte-URL (Tischtelefon, Taster-Hub) – ohne Sitzung."""
    return _device_trigger(request, device_token, query)


@device_router.get("/trigger/{device_token}", auth=None,
                   response={200: TriggerOut, 201: TriggerOut}, operation_id="device_trigger_get")
def device_trigger_get(request, device_token: str, query: Query[DeviceTriggerQuery]):
    """Wie POST, für Telefone, die nur eine URL aufrufen können."""
    return _device_trigger(request, device_token, query)


# --- SMS gateway ----------------------------------------------------------------------------------

class InboundSms(StrictSchema):
    sender: Str = Field(alias="from", max_length=40)
    text: Str = Field(max_length=640)
    id: Str = Field(default="", max_length=100)
    received_at: datetime | None = None


class SmsStatus(StrictSchema):
    id: Str = Field(max_length=100)
    status: Literal["delivered", "failed"]
    error: Str = Field(default="", max_length=300)
    received_at: datetime | None = None


class SmsSignature(APIKeyHeader):
    """``X-Beistand-Signature: sha256=<HMAC of the body>``, checked before the body is parsed:
    an unsigned request gets 401, never a 400 about its content."""

    param_name = "X-Beistand-Signature"

    def authenticate(self, request, key):
        inbound.check_signature(request.body, key or "")
        return True


sms_auth = SmsSignature()


@sms_router.post("/sms/inbound", auth=sms_auth, response={200: SmsInboundOut, 202: SmsInboundOut},
                 operation_id="sms_inbound")
def sms_inbound(request, payload: InboundSms):
    """Eingehende SMS vom Gateway (HMAC-signiert, mit received_at): „ALARM [lat,lon] [Ort]“
    wird ein Alarm, „1“/„2“ ist die Antwort eines per SMS erreichten Empfängers."""
    result = inbound.receive(payload.sender, payload.text, payload.id, payload.received_at,
                             request.body)
    return Status(200 if result.get("accepted") else 202, result)


@sms_router.post("/sms/status", auth=sms_auth, response=SmsStatusOut, operation_id="sms_status")
def sms_status(request, payload: SmsStatus):
    """Zustellberichte des HTTP-Gateways (mit received_at: nur innerhalb des Zeitfensters)."""
    if payload.received_at is not None:
        inbound.check_fresh(payload.received_at)  # a replayed report is refused like an SMS
    return {"updated": sms.delivery_report(payload.id, payload.status, payload.error)}


class CallResult(StrictSchema):
    id: Str = Field(default="", max_length=100)
    reference: Str = Field(default="", max_length=40)
    status: Literal["answered", "unanswered", "failed"]
    digits: Str = Field(default="", max_length=5)
    received_at: datetime | None = None


@sms_router.post("/sms/call-result", auth=sms_auth,
                 response={200: SmsInboundOut, 202: SmsInboundOut}, operation_id="sms_call_result")
def sms_call_result(request, payload: CallResult):
    """Ergebnis eines Anrufs vom Gateway (HMAC-signiert, mit received_at): angenommen oder nicht
    und die gedrückte Taste – „1“ ist „Ich komme“, „2“ „Kann nicht“ des angerufenen Empfängers."""
    result = inbound.call_result(payload.reference, payload.id, payload.status, payload.digits,
                                 payload.received_at)
    return Status(200 if result.get("accepted") else 202, result)
