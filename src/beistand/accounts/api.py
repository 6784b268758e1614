"""API: tokens, the current user, role grants, device tokens."""

from datetime import datetime

from django.contrib.auth import get_user_model
from ninja import Field, Router, Schema, Status

from beistand.accounts import enrolment, services
from beistand.accounts.api_auth import authorised, device_auth, role_check
from beistand.accounts.models import DeviceToken, RoleGrant
from beistand.core.api import StrictSchema
from beistand.core.errors import InvalidInput, NotFound
from beistand.organisation import services as org
from beistand.organisation.models import Room

router = Router()
User = get_user_model()


class TokenRequest(StrictSchema):
    username: str
    password: str
    otp: str | None = None
    name: str = ""


class TokenIssued(Schema):
    id: int
    token: str
    expires_at: datetime | None


class TokenInfo(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@router.post("/auth/token", auth=None, response={201: TokenIssued}, tags=["Anmeldung"],
             operation_id="auth_token_create")
def create_token(request, payload: TokenRequest):
    """Exchange username, password and (for privileged roles) a TOTP code for a bearer token."""
    clear, token = services.issue_api_token(request, payload.username, payload.password,
                                            payload.otp, payload.name)
    return Status(201, {"id": token.pk, "token": clear, "expires_at": token.expires_at})


@router.get("/auth/tokens", response=list[TokenInfo], tags=["Anmeldung"],
            operation_id="auth_tokens_list")
def list_tokens(request):
    """The caller's own tokens (never the secret itself)."""
    return services.list_api_tokens(request.auth)


@router.delete("/auth/tokens/{token_id}", response={204: None}, tags=["Anmeldung"],
               operation_id="auth_token_revoke")
def revoke_token(request, token_id: int):
    services.revoke_api_token(request.auth, token_id)
    return Status(204, None)


class Me(Schema):
    username: str
    display_name: str
    roles: list[str]
    employee_id: int | None


@router.get("/auth/me", response=Me, tags=["Anmeldung"], operation_id="auth_me")
def me(request):
    user = request.auth
    employee = getattr(user, "employee", None)
    return {
        "username": user.get_username(),
        "display_name": org.display_name(user),
        "roles": sorted(services.roles_of(user)),
        "employee_id": employee.pk if employee else None,
    }


class GrantIn(StrictSchema):
    username: str
    role: str
    reason: str
    expires_at: datetime | None = None


class RevokeIn(StrictSchema):
    reason: str


class GrantOut(Schema):
    id: int
    username: str
    role: str
    reason: str
    granted_by: str | None
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str
    pending: bool
    confirmed_by: str | None
    confirmed_at: datetime | None

    @staticmethod
    def resolve_confirmed_by(obj: RoleGrant):
        return obj.confirmed_by.get_username() if obj.confirmed_by else None

    @staticmethod
    def resolve_username(obj: RoleGrant):
        return obj.user.get_username()

    @staticmethod
    def resolve_granted_by(obj: RoleGrant):
        return obj.granted_by.get_username() if obj.granted_by else None


@router.get("/roles/grants", response=list[GrantOut], tags=["Rollen"],
            operation_id="role_grants_list")
def list_grants(request, active: bool = True):
    return list(services.list_grants(request.auth, include_inactive=not active))


@router.post("/roles/grants", response={201: GrantOut}, tags=["Rollen"],
             auth=authorised(role_check(services.Role.ADMIN)), operation_id="role_grant_create")
def create_grant(request, payload: GrantIn):
    services.require_role(request.auth, services.Role.ADMIN)
    user = User.objects.filter(username=payload.username).first()
    if user is None:
        raise InvalidInput("Diesen Benutzer gibt es nicht.", field="username")
    grant = services.grant_role(request.auth, user, payload.role, payload.reason,
                                payload.expires_at)
    return Status(201, grant)


@router.post("/roles/grants/{grant_id}/confirm", response=GrantOut, tags=["Rollen"],
             auth=authorised(role_check(services.Role.ADMIN, services.Role.DPO)),
             operation_id="role_grant_confirm")
def confirm_grant(request, grant_id: int):
    """Four-eyes: a second person (admin or DPO) confirms a pending DPO or admin grant."""
    return services.confirm_grant(request.auth, grant_id)


@router.post("/roles/grants/{grant_id}/revoke", response=GrantOut, tags=["Rollen"],
             auth=authorised(role_check(services.Role.ADMIN)), operation_id="role_grant_revoke")
def revoke_grant(request, grant_id: int, payload: RevokeIn):
    return services.revoke_role(request.auth, grant_id, payload.reason)


class DeviceIn(StrictSchema):
    name: str
    kind: DeviceToken.Kind
    room_id: int | None = None
    username: str | None = None
    # Template codes its trigger URL may raise, comma-separated; empty: only "beistand".
    alarm_templates: str = Field(default="", max_length=200)


class DeviceOut(Schema):
    id: int
    name: str
    kind: str
    alarm_templates: str
    room_id: int | None
    username: str | None
    prefix: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_username(obj: DeviceToken):
        return obj.user.get_username() if obj.user else None


class DeviceIssued(DeviceOut):
    token: str


@router.get("/devices", response=list[DeviceOut], tags=["Geräte"], operation_id="devices_list")
def list_devices(request):
    return list(services.list_device_tokens(request.auth))


@router.post("/devices", response={201: DeviceIssued}, tags=["Geräte"],
             auth=authorised(role_check(services.Role.ADMIN)), operation_id="device_create")
def create_device(request, payload: DeviceIn):
    services.require_role(request.auth, services.Role.ADMIN)
    room = None
    if payload.room_id is not None:
        room = Room.objects.filter(pk=payload.room_id).first()
        if room is None:
            raise InvalidInput("Diesen Raum gibt es nicht.", field="room_id")
    user = None
    if payload.username:
        user = User.objects.filter(username=payload.username).first()
        if user is None:
            raise InvalidInput("Diesen Benutzer gibt es nicht.", field="username")
    clear, device = services.create_device_token(request.auth, payload.name, payload.kind,
                                                 room=room, user=user,
                                                 alarm_templates=payload.alarm_templates)
    device.token = clear
    return Status(201, device)


class EnrolmentSeatIn(StrictSchema):
    name: str = Field(max_length=100)
    room_id: int | None = None
    username: str | None = None


class EnrolmentCodesIn(StrictSchema):
    seats: list[EnrolmentSeatIn] = Field(min_length=1, max_length=enrolment.MAX_BATCH)
    hours: int = Field(default=enrolment.DEFAULT_HOURS, ge=1, le=enrolment.MAX_HOURS)
    kind: DeviceToken.Kind = DeviceToken.Kind.WORKSTATION
    alarm_templates: str = Field(default="", max_length=200)


class EnrolmentCodeOut(Schema):
    id: int
    name: str
    kind: str
    room_id: int | None
    username: str | None
    prefix: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    device_id: int | None

    @staticmethod
    def resolve_username(obj):
        return obj.user.get_username() if obj.user else None


class EnrolmentCodeIssued(EnrolmentCodeOut):
    code: str


class EnrolIn(StrictSchema):
    code: str = Field(max_length=40)
    # what the client calls itself (host name), added to the seat's name in the device list
    client_name: str = Field(default="", max_length=60)


class Enrolled(Schema):
    token: str
    device: DeviceOut


def _seat(seat: EnrolmentSeatIn) -> dict:
    room = user = None
    if seat.room_id is not None:
        room = Room.objects.filter(pk=seat.room_id).first()
        if room is None:
            raise InvalidInput(f"Diesen Raum gibt es nicht ({seat.room_id}).", field="room_id")
    if seat.username:
        user = User.objects.filter(username=seat.username).first()
        if user is None:
            raise InvalidInput(f"Diesen Benutzer gibt es nicht ({seat.username}).",
                               field="username")
    return {"name": seat.name, "room": room, "user": user}


@router.post("/devices/enrolment-codes", response={201: list[EnrolmentCodeIssued]},
             tags=["Geräte"], auth=authorised(role_check(services.Role.ADMIN)),
             operation_id="device_enrolment_codes_create")
def create_enrolment_codes(request, payload: EnrolmentCodesIn):
    """One-time codes for pairing workstations without a login: one per seat (bulk for a
    roll-out). Each code is shown only here, once; it works once, until ``expires_at``."""
    issued = enrolment.create_codes(request.auth, [_seat(s) for s in payload.seats],
                                    hours=payload.hours, kind=payload.kind,
                                    alarm_templates=payload.alarm_templates)
    for clear, code in issued:
        code.code = clear
    return Status(201, [code for _, code in issued])


@router.get("/devices/enrolment-codes", response=list[EnrolmentCodeOut], tags=["Geräte"],
            auth=authorised(role_check(services.Role.ADMIN)),
            operation_id="device_enrolment_codes_list")
def list_enrolment_codes(request):
    return list(enrolment.list_codes(request.auth))


@router.delete("/devices/enrolment-codes/{code_id}", response={204: None}, tags=["Geräte"],
               auth=authorised(role_check(services.Role.ADMIN)),
               operation_id="device_enrolment_code_revoke")
def revoke_enrolment_code(request, code_id: int):
    enrolment.revoke_code(request.auth, code_id)
    return Status(204, None)


@router.post("/devices/enrol", auth=None, response={201: Enrolled}, tags=["Geräte"],
             operation_id="device_enrol")
def enrol_device(request, payload: EnrolIn):
    """A client pairs with a one-time code: answers a device token for the code's seat and
    uses the code up. Wrong, expired or used codes: 400 with a German ``detail``; too many
    wrong codes: 429."""
    clear, device = enrolment.redeem(request, payload.code, payload.client_name)
    return Status(201, {"token": clear, "device": device})


# Declared before /devices/{device_id}: the router matches paths in declaration order.
@router.get("/devices/self", auth=device_auth, response=DeviceOut, tags=["Geräte"],
            operation_id="device_self")
def device_self(request):
    """A device checks its own token (self-test at start of a client)."""
    device = request.auth
    if device is None:
        raise NotFound("Gerät unbekannt.")
    return device


@router.delete("/devices/{device_id}", response={204: None}, tags=["Geräte"],
               operation_id="device_revoke")
def revoke_device(request, device_id: int):
    services.revoke_device_token(request.auth, device_id)
    return Status(204, None)
