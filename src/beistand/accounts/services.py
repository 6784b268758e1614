"""Public face of the accounts app: roles and grants, second factor, API and device tokens.

Views, the API and the CLI call these functions; they check the caller's role, validate input,
and write together with the audit row in one transaction.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.utils import timezone
from django_otp import match_token, user_has_device

from beistand.accounts.models import ApiToken, DeviceToken, RoleGrant
from beistand.accounts.roles import (
    DERIVED_ROLES,
    EXPIRY_REQUIRED,
    GRANTABLE_ROLES,
    PRIVILEGED_ROLES,
    Role,
)
from beistand.accounts.tokens import (
    DEVICE_TOKEN_PREFIX,
    USER_TOKEN_PREFIX,
    hash_secret,
    new_secret,
)
from beistand.core.errors import AccessDenied, InvalidInput, Locked, NotAuthenticated, NotFound
from beistand.organisation import services as org

User = get_user_model()
_ROLE_CACHE = "_beistand_roles"


# --- Roles --------------------------------------------------------------------------------------

def roles_of(user) -> frozenset[str]:
    """All roles the user holds now: derived ones plus active grants (cached per user object)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, _ROLE_CACHE, None)
    if cached is not None:
        return cached
    roles = set(RoleGrant.objects.active().filter(user=user).values_list("role", flat=True))
    employee = org.employee_of(user)
    if employee is not None and employee.active:
        roles.add(Role.REPORTER)
        if org.is_supervisor(employee):
            roles.add(Role.SUPERVISOR)
    result = frozenset(Role(r) for r in roles)
    setattr(user, _ROLE_CACHE, result)
    return result


def forget_roles(user) -> None:
    if hasattr(user, _ROLE_CACHE):
        delattr(user, _ROLE_CACHE)


def has_role(user, *roles: str) -> bool:
    """True if the user holds at least one of ``roles``."""
    held = roles_of(user)
    return any(r in held for r in roles)


def require_role(user, *roles: str) -> None:
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAuthenticated("Bitte melden Sie sich an.")
    if not has_role(user, *roles):
        names = " oder ".join(Role(r).label for r in roles)
        raise AccessDenied(f"Dafür ist die Rolle „{names}“ erforderlich.")


def requires_second_factor(user) -> bool:
    """Privileged roles need TOTP, except in demo mode."""
    if settings.DEMO_MODE:
        return False
    return bool(roles_of(user) & PRIVILEGED_ROLES)


def grant_role(actor, user, role: str, reason: str, expires_at=None) -> RoleGrant:
    require_role(actor, Role.ADMIN)
    if role not in Role.values:
        raise InvalidInput(f"Unbekannte Rolle „{role}“.", field="role")
    if role in DERIVED_ROLES:
        raise InvalidInput("Diese Rolle ergibt sich aus der Organisation und wird nicht "
                           "vergeben.", field="role")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput("Bitte den dienstlichen Bedarf begründen (mindestens 10 Zeichen).",
                           field="reason")
    if role in EXPIRY_REQUIRED and expires_at is None:
        raise InvalidInput("Die Abfrageberechtigung muss befristet werden.", field="expires_at")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("Das Ablaufdatum muss in der Zukunft liegen.", field="expires_at")
    if not user.is_active:
        raise InvalidInput("Das Benutzerkonto ist deaktiviert.", field="user")
    with transaction.atomic():
        if RoleGrant.objects.active().filter(user=user, role=role).exists():
            raise InvalidInput(f"{user.get_username()} hat die Rolle bereits.", field="role")
        grant = RoleGrant.objects.create(user=user, role=role, reason=reason, granted_by=actor,
                                         expires_at=expires_at)
    forget_roles(user)
    return grant


def revoke_role(actor, grant_id: int, reason: str) -> RoleGrant:
    require_role(actor, Role.ADMIN)
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput("Bitte den Entzug begründen.", field="reason")
    with transaction.atomic():
        grant = RoleGrant.objects.select_for_update().filter(pk=grant_id).first()
        if grant is None:
            raise NotFound("Diese Rollenzuweisung gibt es nicht.")
        if grant.revoked_at is not None:
            raise InvalidInput("Die Rolle wurde bereits entzogen.", field="grant")
        grant.revoked_at = timezone.now()
        grant.revoked_by = actor
        grant.revoke_reason = reason
        grant.save()
    forget_roles(grant.user)
    return grant


def grantable_roles():
    return [(r.value, r.label) for r in GRANTABLE_ROLES]


# --- API tokens of people -----------------------------------------------------------------------

def issue_api_token(request, username: str, password: str, otp: str | None = None,
                    name: str = "") -> tuple[str, ApiToken]:
    """Check credentials (lockout applies) and the second factor; return a new bearer token."""
    if not username or not password:
        raise InvalidInput("Benutzername und Passwort sind erforderlich.",
                           field="username" if not username else "password")
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        raise Locked("Zu viele Fehlversuche: das Konto ist vorübergehend gesperrt.")
    if user is None:
        raise NotAuthenticated("Benutzername oder Passwort ist falsch.")
    otp_ok = False
    if requires_second_factor(user):
        if not user_has_device(user, confirmed=True):
            raise AccessDenied("Für Ihre Rolle ist die Zwei-Faktor-Anmeldung Pflicht. Bitte "
                               "richten Sie sie zuerst im Browser ein.")
        if not otp:
            raise NotAuthenticated("Zwei-Faktor-Code fehlt.", field="otp")
        if match_token(user, str(otp).strip()) is None:
            raise NotAuthenticated("Der Zwei-Faktor-Code ist falsch oder abgelaufen.",
                                   field="otp")
        otp_ok = True
    clear, prefix, digest = new_secret(USER_TOKEN_PREFIX)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=(name or "")[:100], prefix=prefix, token_hash=digest,
            expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_DAYS),
            otp_verified=otp_ok)
    return clear, token


def user_for_api_token(clear: str):
    """The active user of a usable token, or None."""
    if not clear or not clear.startswith(USER_TOKEN_PREFIX):
        return None
    token = (ApiToken.objects.usable().select_related("user")
             .filter(token_hash=hash_secret(clear)).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Touch last use at most once a minute: avoids a write (and lock) on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.user.api_token = token
    return token.user


def list_api_tokens(user):
    return list(ApiToken.objects.filter(user=user))


def revoke_api_token(actor, token_id: int) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None or (token.user_id != actor.pk and not has_role(actor, Role.ADMIN)):
            raise NotFound("Dieses Token gibt es nicht.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save()
    return token


# --- Device tokens ------------------------------------------------------------------------------

def create_device_token(actor, name: str, kind: str, room=None, user=None
                        ) -> tuple[str, DeviceToken]:
    require_role(actor, Role.ADMIN)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Bitte eine Bezeichnung angeben.", field="name")
    if kind not in DeviceToken.Kind.values:
        raise InvalidInput(f"Unbekannte Geräteart „{kind}“.", field="kind")
    if room is None and user is None:
        raise InvalidInput("Ein Gerät muss an einen Raum oder eine Person gebunden sein.",
                           field="room")
    clear, prefix, digest = new_secret(DEVICE_TOKEN_PREFIX)
    with transaction.atomic():
        device = DeviceToken.objects.create(name=name[:100], kind=kind, room=room, user=user,
                                            prefix=prefix, token_hash=digest, created_by=actor)
    return clear, device


def device_for_token(clear: str) -> DeviceToken | None:
    if not clear or not clear.startswith(DEVICE_TOKEN_PREFIX):
        return None
    device = (DeviceToken.objects.select_related("room", "user")
              .filter(token_hash=hash_secret(clear), revoked_at__isnull=True).first())
    if device is None:
        return None
    now = timezone.now()
    if device.last_seen_at is None or now - device.last_seen_at > timedelta(minutes=1):
        DeviceToken.objects.filter(pk=device.pk).update(last_seen_at=now)
    return device


def revoke_device_token(actor, device_id: int) -> DeviceToken:
    require_role(actor, Role.ADMIN)
    with transaction.atomic():
        device = DeviceToken.objects.select_for_update().filter(pk=device_id).first()
        if device is None:
            raise NotFound("Dieses Gerät gibt es nicht.")
        if device.revoked_at is None:
            device.revoked_at = timezone.now()
            device.save()
    return device
