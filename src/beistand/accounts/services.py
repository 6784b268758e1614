"""Public face of the accounts app: roles and grants, second factor, API and device tokens.

Views, the API and the CLI call these functions; they check the caller's role, validate input,
and write together with the audit row in one transaction.
"""

import contextlib
from datetime import timedelta

import django_otp
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate, get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

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
from beistand.audit import services as audit
from beistand.core.errors import (
    AccessDenied,
    Conflict,
    InvalidInput,
    Locked,
    NotAuthenticated,
    NotFound,
)
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


def _acting(actor):
    """Attribute the audited writes inside to ``actor`` (keeps the request's address)."""
    if actor is None:
        return contextlib.nullcontext()
    return audit.acting_as(audit.actor_for_user(actor, audit.current_actor().remote_addr))


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


OIDC_BACKEND = "beistand.accounts.oidc.EmployeeOIDCBackend"


def requires_second_factor(user, request=None) -> bool:
    """Privileged roles need TOTP, except in demo mode.

    With ``BEISTAND_OIDC_TRUST_MFA`` a session that was opened through the identity provider
    counts as already two-factor authenticated (the IdP enforces its own second factor).
    """
    if settings.DEMO_MODE:
        return False
    if not roles_of(user) & PRIVILEGED_ROLES:
        return False
    return not (request is not None and logged_in_via_trusted_idp(request))


def logged_in_via_trusted_idp(request) -> bool:
    if not getattr(settings, "OIDC_TRUST_MFA", False):
        return False
    session = getattr(request, "session", None)
    # The backend path is written into the session by django.contrib.auth.login() on the server;
    # the client cannot set it.
    return session is not None and session.get(BACKEND_SESSION_KEY) == OIDC_BACKEND


def grant_role(actor, user, role: str, reason: str, expires_at=None) -> RoleGrant:
    """An administrator grants ``role`` to ``user`` (validated, audited)."""
    require_role(actor, Role.ADMIN)
    return _create_grant(actor, user, role, reason, expires_at)


def grant_role_by_operator(user, role: str, reason: str, expires_at=None) -> RoleGrant:
    """Grant from the command line (``beistand grant-role``): the operator with shell access is
    trusted; this is how a fresh installation gets its first administrator. Audited as system."""
    return _create_grant(None, user, role, reason, expires_at)


def _create_grant(actor, user, role: str, reason: str, expires_at=None) -> RoleGrant:
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
    with transaction.atomic(), _acting(actor):
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
    with transaction.atomic(), _acting(actor):
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


def list_grants(actor, include_inactive: bool = False):
    """Role grants for the administration page (admin only), newest first."""
    require_role(actor, Role.ADMIN)
    qs = RoleGrant.objects.select_related("user", "user__employee", "granted_by", "revoked_by")
    return qs.all() if include_inactive else qs.active()


def own_grants(user):
    """The user's own active grants (self-service page)."""
    return RoleGrant.objects.active().filter(user=user).select_related("granted_by")


# --- Second factor (TOTP) -----------------------------------------------------------------------

TOTP_DEVICE_NAME = "Authenticator-App"


def confirmed_totp_device(user) -> TOTPDevice | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def _normalise_code(code) -> str:
    # Apps show "123 456"; people type it that way.
    return "".join(str(code or "").split())


def _check_totp(device: TOTPDevice, code) -> bool:
    """Verify under a row lock (throttling and replay protection of django-otp)."""
    code = _normalise_code(code)
    return django_otp.verify_token(device.user, device.persistent_id, code) is not None


def _require_code_attempt(device: TOTPDevice, code) -> None:
    """Refuse an empty code, and any code while django-otp's wait after wrong codes runs."""
    if not _normalise_code(code):
        raise InvalidInput("Bitte den sechsstelligen Code aus der App eingeben.", field="code")
    wait = totp_wait_seconds(device)
    if wait:
        raise InvalidInput(f"Zu viele falsche Codes. Bitte warten Sie {wait} Sekunden.",
                           field="code")


def totp_wait_seconds(device: TOTPDevice) -> int:
    """Seconds until django-otp's throttling allows the next try (0: allowed now)."""
    allowed, data = device.verify_is_allowed()
    if allowed:
        return 0
    count = (data or {}).get("failure_count", 1)
    delay = device.get_throttle_factor() * (2 ** (count - 1))
    since = (timezone.now() - device.throttling_failure_timestamp).total_seconds()
    return max(1, int(delay - since + 0.999))


def start_totp_enrolment(user) -> TOTPDevice:
    """The pending (unconfirmed) authenticator of the user; created on first call."""
    if confirmed_totp_device(user) is not None:
        raise Conflict("Die Zwei-Faktor-Anmeldung ist bereits eingerichtet.")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        with transaction.atomic():
            device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def confirm_totp_enrolment(request, code) -> TOTPDevice:
    """Confirm the pending authenticator with a first code; the session counts as verified."""
    user = request.user
    device = start_totp_enrolment(user)
    _require_code_attempt(device, code)
    if not _check_totp(device, code):
        raise InvalidInput("Der Code stimmt nicht. Bitte prüfen Sie die Uhrzeit Ihres Geräts "
                           "und geben Sie den aktuellen Code ein.", field="code")
    with transaction.atomic():
        device.refresh_from_db()
        device.confirmed = True
        device.save()
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        audit.record("auth.second_factor_enrolled", obj=user, actor=user,
                     object_repr=user.get_username())
    _mark_verified(request, device)
    return device


def verify_second_factor(request, code) -> TOTPDevice:
    """Check the code of the session user; a wrong code counts as a failed login (lockout)."""
    user = request.user
    device = confirmed_totp_device(user)
    if device is None:
        raise Conflict("Die Zwei-Faktor-Anmeldung ist noch nicht eingerichtet.")
    _require_code_attempt(device, code)
    if not _check_totp(device, code):
        user_login_failed.send(sender=__name__, credentials={"username": user.get_username()},
                               request=request)
        if getattr(request, "axes_locked_out", False):
            raise Locked("Zu viele Fehlversuche: die Anmeldung ist vorübergehend gesperrt.")
        raise InvalidInput("Der Code ist falsch oder abgelaufen.", field="code")
    with transaction.atomic():
        audit.record("auth.second_factor_verified", obj=user, actor=user,
                     object_repr=user.get_username())
    _mark_verified(request, device)
    return device


def _mark_verified(request, device) -> None:
    # New session key on privilege elevation (session fixation), then bind the device.
    request.session.cycle_key()
    django_otp.login(request, device)


def reset_second_factor(actor, user) -> int:
    """Remove the user's authenticators (lost phone); they enrol anew at the next login.

    ``actor`` None means the command line (operator with shell access).
    """
    if actor is not None:
        require_role(actor, Role.ADMIN)
    with transaction.atomic():
        count, _ = TOTPDevice.objects.filter(user=user).delete()
        audit.record("auth.second_factor_reset", obj=user, actor=actor,
                     object_repr=user.get_username(), after={"devices_removed": count})
    return count


# --- API tokens of people -----------------------------------------------------------------------

def issue_api_token(request, username: str, password: str, otp: str | None = None,
                    name: str = "") -> tuple[str, ApiToken]:
    """Check credentials (lockout applies) and the second factor; return a new bearer token.

    A wrong second-factor code counts as a failed login (lockout, audit); a missing one does not,
    since nothing was guessed. Nothing is stored unless every check passed.
    """
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
        device = confirmed_totp_device(user)
        if device is None:
            raise AccessDenied("Für Ihre Rolle ist die Zwei-Faktor-Anmeldung Pflicht. Bitte "
                               "melden Sie sich zuerst im Browser an und richten Sie sie unter "
                               "„Sicherheit“ ein.")
        if not otp:
            raise NotAuthenticated("Für Ihre Rolle ist ein Zwei-Faktor-Code erforderlich.",
                                   field="otp")
        if not _check_totp(device, otp):
            user_login_failed.send(sender=__name__, credentials={"username": username},
                                   request=request)
            if getattr(request, "axes_locked_out", False):
                raise Locked("Zu viele Fehlversuche: das Konto ist vorübergehend gesperrt.")
            raise NotAuthenticated("Der Zwei-Faktor-Code ist falsch oder abgelaufen.",
                                   field="otp")
        otp_ok = True
    clear, prefix, digest = new_secret(USER_TOKEN_PREFIX)
    with transaction.atomic(), audit.acting_as(audit.actor_for_user(user, _remote(request))):
        token = ApiToken.objects.create(
            user=user, name=(name or "").strip()[:100], prefix=prefix, token_hash=digest,
            expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_DAYS),
            otp_verified=otp_ok)
        # A token issued is a successful login: audited, and django-axes resets the failures.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
    return clear, token


def _remote(request) -> str:
    return (request.META.get("REMOTE_ADDR", "") if request is not None else "") or ""


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
    with transaction.atomic(), _acting(actor):
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
    with transaction.atomic(), _acting(actor):
        device = DeviceToken.objects.create(name=name[:100], kind=kind, room=room, user=user,
                                            prefix=prefix, token_hash=digest, created_by=actor)
    return clear, device


def list_device_tokens(actor):
    require_role(actor, Role.ADMIN)
    return DeviceToken.objects.select_related("room__floor__building", "user", "created_by")


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
    with transaction.atomic(), _acting(actor):
        device = DeviceToken.objects.select_for_update().filter(pk=device_id).first()
        if device is None:
            raise NotFound("Dieses Gerät gibt es nicht.")
        if device.revoked_at is None:
            device.revoked_at = timezone.now()
            device.save()
    return device


# --- Single sign-on (OIDC, LDAP): link an external login to an employee -------------------------

class ExternalLoginRefused(Exception):
    """An identity provider vouched for someone who has no (unique, active) employee record."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


NO_EMPLOYEE = ("Für Ihr Dienstkonto gibt es in beistand keinen aktiven Beschäftigtendatensatz. "
               "Bitte wenden Sie sich an die Administration.")
AMBIGUOUS_EMPLOYEE = ("Ihre E-Mail-Adresse ist in beistand mehreren Beschäftigten zugeordnet. "
                      "Bitte wenden Sie sich an die Administration.")


def match_external_login(email: str | None, username: str | None = None):
    """``(user, employee)`` an external login maps to; ``user`` is None if none exists yet.

    Matching: an account with this username that belongs to an active employee (LDAP passes
    ``username``: the directory login name equals beistand's), else the single active employee
    with this e-mail address. Raises ``ExternalLoginRefused`` when no employee matches, when the
    match is ambiguous, or when the matched account is deactivated. Never matches an account
    without an employee record, so e.g. a technical admin account cannot be taken over via SSO.
    """
    from beistand.organisation.models import Employee

    if username:
        user = (User.objects.filter(username__iexact=username, employee__active=True)
                .select_related("employee").first())
        if user is not None:
            if not user.is_active:
                raise ExternalLoginRefused(NO_EMPLOYEE)
            return user, user.employee
    email = (email or "").strip()
    if not email:
        raise ExternalLoginRefused(NO_EMPLOYEE)
    employees = list(Employee.objects.filter(email__iexact=email, active=True)
                     .select_related("user")[:2])
    if not employees:
        raise ExternalLoginRefused(NO_EMPLOYEE)
    if len(employees) > 1:
        raise ExternalLoginRefused(AMBIGUOUS_EMPLOYEE)
    employee = employees[0]
    if employee.user is not None and not employee.user.is_active:
        raise ExternalLoginRefused(NO_EMPLOYEE)
    return employee.user, employee


def free_username(*candidates: str) -> str:
    """The first candidate not yet taken (Django's username characters only), else suffixed."""
    import re

    cleaned = [re.sub(r"[^\w.@+-]", "", c or "")[:140] for c in candidates]
    cleaned = [c for c in cleaned if c] or ["benutzer"]
    for candidate in cleaned:
        if not User.objects.filter(username__iexact=candidate).exists():
            return candidate
    base, n = cleaned[0], 2
    while User.objects.filter(username__iexact=f"{base}-{n}").exists():
        n += 1
    return f"{base}-{n}"


def link_external_user(user, employee, method: str) -> None:
    """Bind a freshly created account to its employee record (audited)."""
    with transaction.atomic(), audit.acting_as(audit.actor_for_user(user)):
        employee.user = user
        employee.save()
        audit.record("auth.external_account_linked", obj=employee, actor=user,
                     after={"method": method, "username": user.get_username()})
    forget_roles(user)
