"""API: tokens, the current user, role grants, device tokens."""

from datetime import datetime

from django.contrib.auth import get_user_model
from ninja import Router, Schema, Status

from beistand.accounts import services
from beistand.accounts.models import DeviceToken, RoleGrant
from beistand.core.api import StrictSchema, authorised, device_auth, role_check
from beistand.core.errors import InvalidInput, NotFound
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


@router.post("/auth/token", auth=None, response={201: TokenIssued}, tags=["Anmeldung"])
def create_token(request, payload: TokenRequest):
    """Exchange username, password and (for privileged roles) a TOTP code for a bearer token."""
    clear, token = services.issue_api_token(request, payload.username, payload.password,
                                            payload.otp, payload.name)
    return Status(201, {"id": token.pk, "token": clear, "expires_at": token.expires_at})


@router.get("/auth/tokens", response=list[TokenInfo], tags=["Anmeldung"])
def list_tokens(request):
    """The caller's own tokens (never the secret itself)."""
    return services.list_api_tokens(request.auth)


@router.delete("/auth/tokens/{token_id}", response={204: None}, tags=["Anmeldung"])
def revoke_token(request, token_id: int):
    services.revoke_api_token(request.auth, token_id)
    return Status(204, None)


class Me(Schema):
    username: str
    display_name: str
    roles: list[str]
    employee_id: int | None


@router.get("/auth/me", response=Me, tags=["Anmeldung"])
def me(request):
    user = request.auth
    employee = getattr(user, "employee", None)
    return {
        "username": user.get_username(),
        "display_name": employee.full_name if employee else user.get_username(),
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

    @staticmethod
    def resolve_username(obj: RoleGrant):
        return obj.user.get_username()

    @staticmethod
    def resolve_granted_by(obj: RoleGrant):
        return obj.granted_by.get_username() if obj.granted_by else None


@router.get("/roles/grants", response=list[GrantOut], tags=["Rollen"])
def list_grants(request, active: bool = True):
    return list(services.list_grants(request.auth, include_inactive=not active))


@router.post("/roles/grants", response={201: GrantOut}, tags=["Rollen"],
             auth=authorised(role_check(services.Role.ADMIN)))
def create_grant(request, payload: GrantIn):
    services.require_role(request.auth, services.Role.ADMIN)
    user = User.objects.filter(username=payload.username).first()
    if user is None:
        raise InvalidInput("Diesen Benutzer gibt es nicht.", field="username")
    grant = services.grant_role(request.auth, user, payload.role, payload.reason,
                                payload.expires_at)
    return Status(201, grant)


@router.post("/roles/grants/{grant_id}/revoke", response=GrantOut, tags=["Rollen"],
             auth=authorised(role_check(services.Role.ADMIN)))
def revoke_grant(request, grant_id: int, payload: RevokeIn):
    return services.revoke_role(request.auth, grant_id, payload.reason)


class DeviceIn(StrictSchema):
    name: str
    kind: DeviceToken.Kind
    room_id: int | None = None
    username: str | None = None


class DeviceOut(Schema):
    id: int
    name: str
    kind: str
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


@router.get("/devices", response=list[DeviceOut], tags=["Geräte"])
def list_devices(request):
    return list(services.list_device_tokens(request.auth))


@router.post("/devices", response={201: DeviceIssued}, tags=["Geräte"],
             auth=authorised(role_check(services.Role.ADMIN)))
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
                                                 room=room, user=user)
    device.token = clear
    return Status(201, device)


# Declared before /devices/{device_id}: the router matches paths in declaration order.
@router.get("/devices/self", auth=device_auth, response=DeviceOut, tags=["Geräte"])
def device_self(request):
    """A device checks its own token (self-test at start of a client)."""
    device = request.auth
    if device is None:
        raise NotFound("Gerät unbekannt.")
    return device


@router.delete("/devices/{device_id}", response={204: None}, tags=["Geräte"])
def revoke_device(request, device_id: int):
    services.revoke_device_token(request.auth, device_id)
    return Status(204, None)
