"""Public face of the accounts app: roles and grants, second factor, API and device tokens.

Views, the API and the CLI call these functions; they check the caller's role, validate input,
and write together with the audit row in one transaction.
"""

import contextlib
import re
from datetime import timedelta

import django_otp
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, authenticate, get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from beistand.accounts.models import ApiToken, DeviceToken, RoleGrant
from beistand.accounts.revocation import announce_revoked
from beistand.accounts.roles import (
    DERIVED_ROLES,
    EXPIRY_REQUIRED,
    FOUR_EYES_ROLES,
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
from beistand.notify import services as notify
from beistand.organisation import services as org
from beistand.organisation.models import Employee

User = get_user_model()
_ROLE_CACHE = "_beistand_roles"
# Set on a user object by ``user_for_api_token`` (answered in the token's own query).
_PRIVILEGED_CACHE = "_beistand_privileged"


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


def holds_privileged_role(user) -> bool:
    """Whether the user holds a role that needs the second factor. Privileged roles come only
    from grants (the derived roles reporter and supervisor are not privileged), so one query
    answers it where ``roles_of`` needs four - this runs on every token use, the alarm
    trigger among them."""
    cached = getattr(user, _ROLE_CACHE, None)
    if cached is not None:
        return bool(cached & PRIVILEGED_ROLES)
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    known = getattr(user, _PRIVILEGED_CACHE, None)
    if known is not None:
        return known
    return _privileged_grants().filter(user=user).exists()


def _privileged_grants():
    """The grants that count now and need the second factor."""
    return RoleGrant.objects.active().filter(role__in=PRIVILEGED_ROLES)


def acting_for(actor):
    """Attribute the audited writes inside to ``actor`` (keeps the request's address)."""
    if actor is None:
        return contextlib.nullcontext()
    return audit.acting_as(audit.actor_for_user(actor, audit.current_actor().remote_addr))


def forget_roles(user) -> None:
    for cache in (_ROLE_CACHE, _PRIVILEGED_CACHE):
        if hasattr(user, cache):
            delattr(user, cache)


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
    if not holds_privileged_role(user):
        return False
    return not (request is not None and logged_in_via_trusted_idp(request))


def logged_in_via_trusted_idp(request) -> bool:
    if not getattr(settings, "OIDC_TRUST_MFA", False):
        return False
    session = getattr(request, "session", None)
    # The backend path is written into the session by django.contrib.auth.login() on the server;
    # the client cannot set it.
    return session is not None and session.get(BACKEND_SESSION_KEY) == OIDC_BACKEND


def session_is_verified(user, session) -> bool:
    """True if ``session`` passed the second factor with one of ``user``'s authenticators (what
    django-otp's middleware checks for HTTP requests)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id)
    return device is not None and device.user_id == user.pk


def user_for_session(session):
    """The user a session (outside Django's request stack: WebSockets) counts as, or None.

    The same rule as HTTP: a logged-in, active user whose session hash still matches, and a
    verified second factor where the user's roles require one. A half-logged-in session (password
    only, sent to the enrolment or code page) counts as logged out.
    """
    from types import SimpleNamespace

    from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
    from django.utils.crypto import constant_time_compare

    if session is None:
        return None
    user_id = session.get(SESSION_KEY)
    if user_id is None or BACKEND_SESSION_KEY not in session:
        return None
    user = User._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None or not constant_time_compare(session.get(HASH_SESSION_KEY, ""),
                                                 user.get_session_auth_hash()):
        return None
    if requires_second_factor(user, SimpleNamespace(session=session)) \
            and not session_is_verified(user, session):
        return None
    return user


def user_for_session_key(session_key: str):
    """``user_for_session`` for a session cookie's value."""
    from importlib import import_module

    if not session_key:
        return None
    return user_for_session(import_module(settings.SESSION_ENGINE).SessionStore(session_key))


def grant_role(actor, user, role: str, reason: str, expires_at=None) -> RoleGrant:
    """An administrator grants ``role`` to ``user`` (validated, audited).

    Nobody grants a role to themselves. A grant of the DPO or admin role is pending until a
    second person confirms it (``confirm_grant``); every other grant counts at once.
    """
    require_role(actor, Role.ADMIN)
    if actor.pk == user.pk:
        raise InvalidInput("Niemand kann sich selbst eine Rolle vergeben. Bitte wenden Sie sich "
                           "an eine andere Administratorin oder einen anderen Administrator.",
                           field="user")
    return _create_grant(actor, user, role, reason, expires_at,
                         pending=role in FOUR_EYES_ROLES)


def has_active_admin() -> bool:
    return RoleGrant.objects.active().filter(role=Role.ADMIN).exists()


def only_active_admin(user) -> bool:
    """``user`` is the one active administrator: nobody else could act for them."""
    admins = set(RoleGrant.objects.active().filter(role=Role.ADMIN, user__is_active=True)
                 .values_list("user_id", flat=True))
    return admins == {user.pk}


def bootstrap_admin(user, reason: str) -> RoleGrant:
    """The first administrator of an installation, from the command line (``beistand grant-role
    USER admin`` without ``--as``), audited as system: nobody in the application can act yet.

    Only the admin role and only while no administrator is active. From then on every grant
    names its acting person (``grant_role``, from the command line with ``--as``), who proves it
    with password and second factor (``authenticate_console_person``): self-grants are refused
    and DPO/admin grants wait for a second person there too.
    """
    with transaction.atomic():
        if has_active_admin():
            raise AccessDenied("Es gibt bereits eine aktive Administration: Rollen vergibt eine "
                               "Administratorin oder ein Administrator mit Namen (--as).")
        return _create_grant(None, user, Role.ADMIN, reason, None, pending=False)


def authenticate_console_person(username: str, password: str, code: str | None = None):
    """The person acting on the command line (``--as``), proven as at the web login: the
    password (django-axes' lockout and the spray limits apply; source ``127.0.0.1``) and the
    second factor where their roles need one. Audited as a login of that person; a wrong code
    counts as a failed login. The operating-system account is not trusted: shell operators are
    often root or a shared service account, and nothing maps them to a person."""
    from django.http import HttpRequest

    if not username or not password:
        raise NotAuthenticated("Benutzername und Passwort sind erforderlich.")
    request = HttpRequest()
    request.method = "POST"
    request.path = "/kommandozeile/"
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    user = authenticate(request, username=username, password=password)
    if getattr(request, "axes_locked_out", False):
        raise Locked("Zu viele Fehlversuche: das Konto ist vorübergehend gesperrt.",
                     retry_after=settings.LOCKOUT_MINUTES * 60)
    if user is None:
        raise NotAuthenticated("Benutzername oder Passwort ist falsch.")
    if requires_second_factor(user):
        device = confirmed_totp_device(user)
        if device is None:
            raise AccessDenied("Für Ihre Rolle ist die Zwei-Faktor-Anmeldung Pflicht. Bitte "
                               "richten Sie sie zuerst im Browser unter „Sicherheit“ ein.")
        _require_code_attempt(device, code)
        if not _check_totp(device, code):
            user_login_failed.send(sender=__name__, credentials={"username": username},
                                   request=request)
            raise NotAuthenticated("Der Zwei-Faktor-Code ist falsch oder abgelaufen.")
    with transaction.atomic(), audit.acting_as(audit.actor_for_user(user, "127.0.0.1")):
        user_logged_in.send(sender=user.__class__, request=request, user=user)
    return user


def _create_grant(actor, user, role: str, reason: str, expires_at=None,
                  pending: bool = False) -> RoleGrant:
    if role not in Role.values:
        raise InvalidInput(f"Unbekannte Rolle „{role}“.", field="role")
    if role in DERIVED_ROLES:
        raise InvalidInput("Diese Rolle ergibt sich aus der Organisation und wird nicht "
                           "vergeben.", field="role")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise InvalidInput("Bitte den dienstlichen Bedarf begründen (mindestens 10 Zeichen).",
                           field="reason")
    if len(reason) > 500:
        raise InvalidInput("Die Begründung darf höchstens 500 Zeichen lang sein.",
                           field="reason")
    if role in EXPIRY_REQUIRED and expires_at is None:
        raise InvalidInput("Die Abfrageberechtigung muss befristet werden.", field="expires_at")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("Das Ablaufdatum muss in der Zukunft liegen.", field="expires_at")
    if not user.is_active:
        raise InvalidInput("Das Benutzerkonto ist deaktiviert.", field="user")
    with transaction.atomic(), acting_for(actor):
        if RoleGrant.objects.active().filter(user=user, role=role).exists():
            raise InvalidInput(f"{user.get_username()} hat die Rolle bereits.", field="role")
        if RoleGrant.objects.pending_confirmation().filter(user=user, role=role).exists():
            raise InvalidInput(f"Für {user.get_username()} wartet diese Rolle bereits auf "
                               "Bestätigung.", field="role")
        grant = RoleGrant.objects.create(user=user, role=role, reason=reason, granted_by=actor,
                                         expires_at=expires_at, pending=pending)
        if role in PRIVILEGED_ROLES and not pending:
            revoke_tokens_of(user, f"role {role} granted")
    forget_roles(user)
    return grant


def confirm_grant(actor, grant_id: int) -> RoleGrant:
    """The second person (an admin or the DPO, neither grantor nor grantee) confirms a pending
    DPO or admin grant; from now on it counts. Audited."""
    require_role(actor, Role.ADMIN, Role.DPO)
    with transaction.atomic(), acting_for(actor):
        grant = (RoleGrant.objects.select_for_update().select_related("user")
                 .filter(pk=grant_id).first())
        if grant is None:
            raise NotFound("Diese Rollenzuweisung gibt es nicht.")
        if not grant.pending or grant.revoked_at is not None:
            raise InvalidInput("Diese Rollenzuweisung wartet nicht auf Bestätigung.",
                               field="grant")
        if grant.expires_at is not None and grant.expires_at <= timezone.now():
            raise InvalidInput("Diese Rollenzuweisung ist bereits abgelaufen.", field="grant")
        if grant.user_id == actor.pk:
            raise InvalidInput("Die eigene Rolle kann niemand selbst bestätigen.", field="grant")
        if grant.granted_by_id == actor.pk:
            raise InvalidInput("Vier-Augen-Prinzip: Bestätigen muss eine zweite Person, nicht "
                               "wer die Rolle vergeben hat.", field="grant")
        grant.pending = False
        grant.confirmed_by = actor
        grant.confirmed_at = timezone.now()
        grant.save()
        revoke_tokens_of(grant.user, f"role {grant.role} confirmed")
    forget_roles(grant.user)
    return grant


def revoke_role(actor, grant_id: int, reason: str) -> RoleGrant:
    require_role(actor, Role.ADMIN)
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise InvalidInput("Bitte den Entzug begründen.", field="reason")
    with transaction.atomic(), acting_for(actor):
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
    """Role grants for the administration page (admin; the DPO reads and confirms), newest
    first: the active ones and those waiting for confirmation, or all."""
    require_role(actor, Role.ADMIN, Role.DPO)
    qs = RoleGrant.objects.select_related("user", "user__employee", "granted_by", "revoked_by",
                                          "confirmed_by")
    if include_inactive:
        return qs.all()
    return qs.active() | qs.pending_confirmation()


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
            raise Locked("Zu viele Fehlversuche: die Anmeldung ist vorübergehend gesperrt.",
                         retry_after=settings.LOCKOUT_MINUTES * 60)
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


def reset_second_factor(actor, user, second=None) -> int:
    """Remove the user's authenticators (lost phone); they enrol anew at the next login.

    ``actor`` None means the command line's one exception: the last administrator's own lost
    phone. For a person with a privileged role, ``second`` confirms (``second_person_for``).
    """
    if actor is not None:
        require_role(actor, Role.ADMIN)
        second_person_for(actor, user, second)
    with transaction.atomic():
        count, _ = TOTPDevice.objects.filter(user=user).delete()
        revoked = revoke_tokens_of(user, "second factor reset")
        audit.record("auth.second_factor_reset", obj=user, actor=actor,
                     object_repr=user.get_username(),
                     after={"devices_removed": count, **revoked,
                            "confirmed_by": second.get_username() if second else None})
    return count


def set_password_for(actor, user, password: str, second=None) -> None:
    """An administrator sets another person's password (a forgotten one; the command line's
    ``set-password``). Nobody sets their own this way (the web's "Sicherheit" page asks for
    the old one). The password rules apply; the person's tokens are revoked and their sessions
    end (Django's session hash covers the password); audited with the acting person."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    require_role(actor, Role.ADMIN)
    if actor.pk == user.pk:
        raise AccessDenied("Das eigene Passwort ändern Sie im Browser unter „Sicherheit“.")
    second_person_for(actor, user, second)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), field="password") from None
    with transaction.atomic(), acting_for(actor):
        user.set_password(password)
        user.save(update_fields=["password"])
        revoked = revoke_tokens_of(user, "password set by an administrator")
        audit.record("auth.password_set", obj=user, actor=actor,
                     object_repr=user.get_username(),
                     after={**revoked,
                            "confirmed_by": second.get_username() if second else None})


def revoke_tokens_of(user, why: str) -> dict:
    """Revoke every bearer token the user holds now: their API tokens and the device tokens
    bound to them (inside the caller's transaction, audited). Called when a privileged role is
    granted and when the second factor is reset: a token issued under the old conditions must
    not carry the new rights (or outlive the lost authenticator)."""
    now = timezone.now()
    api_ids = list(ApiToken.objects.usable(now).filter(user=user).values_list("pk", flat=True))
    device_ids = list(DeviceToken.objects.filter(user=user, revoked_at__isnull=True)
                      .values_list("pk", flat=True))
    ApiToken.objects.filter(pk__in=api_ids).update(revoked_at=now)
    DeviceToken.objects.filter(pk__in=device_ids).update(revoked_at=now)
    announce_revoked(api=api_ids, device=device_ids)
    if api_ids or device_ids:
        audit.record("auth.tokens_revoked", obj=user, object_repr=user.get_username(),
                     after={"reason": why, "api_tokens": api_ids, "device_tokens": device_ids})
    return {"api_tokens_revoked": len(api_ids), "device_tokens_revoked": len(device_ids)}


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
        raise Locked("Zu viele Fehlversuche: das Konto ist vorübergehend gesperrt.",
                     retry_after=settings.LOCKOUT_MINUTES * 60)
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
                raise Locked("Zu viele Fehlversuche: das Konto ist vorübergehend gesperrt.",
                             retry_after=settings.LOCKOUT_MINUTES * 60)
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
    # One query: the token, its user and whether the user holds a privileged role now (the
    # second-factor rule of ``_token_carries``) - this runs on every alarm trigger.
    privileged = _privileged_grants().filter(user=OuterRef("user"))
    token = (ApiToken.objects.usable().select_related("user")
             .annotate(privileged=Exists(privileged))
             .filter(token_hash=hash_secret(clear)).first())
    if token is not None:
        # What holds_privileged_role would ask, already answered.
        setattr(token.user, _PRIVILEGED_CACHE, token.privileged)
    if not _token_carries(token):
        return None
    now = timezone.now()
    # Touch last use at most once a minute: avoids a write (and lock) on every request.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.user.api_token = token
    return token.user


def _token_carries(token) -> bool:
    """A usable token of an active user, bound to the second factor the user's *current* roles
    require. Issued without it (before a privileged role, in demo mode), it carries nothing
    until it is re-issued."""
    if token is None or not token.user.is_active:
        return False
    return token.otp_verified or not requires_second_factor(token.user)


def user_for_connection(kind: str, ref, user_id):
    """The person a live connection (the alarm WebSocket) may act as *now*, or None.

    Checked again for every command, by the rules of the handshake as they hold at that moment:
    a person's token (``kind`` "user", ``ref`` its id) still usable and bound to the second
    factor the user's current roles require; a browser session (``kind`` "session", ``ref`` its
    key) still logged in, with the second factor where the roles need it (a role granted while
    the socket was open counts at once). A device token (``kind`` "device") never acts as a
    person: a device triggers and receives, nothing else, even when it is bound to one.
    """
    if kind == "user":
        token = (ApiToken.objects.usable().select_related("user")
                 .filter(pk=ref, user_id=user_id).first())
        return token.user if _token_carries(token) else None
    if kind == "session":
        user = user_for_session_key(ref)
        if user is not None:
            return user if user.pk == user_id else None
        # The session ended while the alarm page stayed open (it timed out): a person whose
        # roles need no second factor may still answer on the socket opened while logged in -
        # a helper's "Ich komme" must not fail on a session timeout. Privileged people log in
        # again. Ended sessions' sockets are closed by the engine's token check (60 s).
        owner = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        return owner if owner is not None and not requires_second_factor(owner) else None
    return None


def list_api_tokens(user):
    return list(ApiToken.objects.filter(user=user))


def revoke_api_token(actor, token_id: int) -> ApiToken:
    with transaction.atomic(), acting_for(actor):
        token = ApiToken.objects.select_for_update().filter(pk=token_id).first()
        if token is None or (token.user_id != actor.pk and not has_role(actor, Role.ADMIN)):
            raise NotFound("Dieses Token gibt es nicht.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save()
            announce_revoked(api=[token.pk])
    return token


# --- Device tokens ------------------------------------------------------------------------------

PERSONAL_DEVICE_LOCKED = (
    "Ein Gerät, das im Namen einer Person mit besonderer Rolle (Datenschutz, Administration, "
    "ZKS, Abfrage, Personal) auslöst und ihre Alarme empfängt, koppelt nur diese Person selbst. "
    "Bitte das Gerät an den Raum binden oder die Person es selbst einrichten lassen.")


def check_device_seat(actor, name: str, kind: str, room=None, user=None,
                      alarm_templates: str = "") -> tuple[str, str]:
    """The seat of a device (a token now, or an enrolment code for later): German errors for
    bad input; -> (name, normalised template codes). A device bound to a person triggers in
    their name and receives their alarms: nobody binds one to a holder of a privileged role
    but that person (issue 16, re-attack: the administrator's own button as the DPO)."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Bitte eine Bezeichnung angeben.", field="name")
    if kind not in DeviceToken.Kind.values:
        raise InvalidInput(f"Unbekannte Geräteart „{kind}“.", field="kind")
    if room is None and user is None:
        raise InvalidInput("Ein Gerät muss an einen Raum oder eine Person gebunden sein.",
                           field="room")
    codes = [c.strip().lower() for c in (alarm_templates or "").split(",") if c.strip()]
    templates = ",".join(codes)
    if len(templates) > 200 or not all(re.fullmatch(r"[a-z0-9_-]{1,30}", c) for c in codes):
        raise InvalidInput("Alarmvorlagen: Kennungen (a–z, 0–9, - und _), durch Komma "
                           "getrennt, zusammen höchstens 200 Zeichen.", field="alarm_templates")
    if user is not None and user.pk != getattr(actor, "pk", None) and identity_locked(user.pk):
        raise AccessDenied(PERSONAL_DEVICE_LOCKED)
    return name[:100], templates


def create_device_token(actor, name: str, kind: str, room=None, user=None,
                        alarm_templates: str = "") -> tuple[str, DeviceToken]:
    """``alarm_templates``: the template codes its trigger URL may raise, comma-separated
    (empty: only the default template, see ``alarms.trigger.device_templates``). A device
    bound to a person by someone else is announced to that person by mail, in the same
    transaction: an unknown device in one's name is noticed."""
    require_role(actor, Role.ADMIN)
    name, alarm_templates = check_device_seat(actor, name, kind, room, user, alarm_templates)
    clear, prefix, digest = new_secret(DEVICE_TOKEN_PREFIX)
    with transaction.atomic(), acting_for(actor):
        device = DeviceToken.objects.create(name=name, kind=kind, room=room, user=user,
                                            alarm_templates=alarm_templates, prefix=prefix,
                                            token_hash=digest, created_by=actor)
        if user is not None and user.pk != actor.pk:
            _announce_device(device, actor)
    return clear, device


def _announce_device(device: DeviceToken, actor) -> None:
    # To the account's own address as well as the employee record's: the record is master
    # data the same administrator maintains (and could point at themselves first).
    employee = org.employee_of(device.user)
    addresses = [a for a in (device.user.email, employee.email if employee else "") if a]
    notify.enqueue_mail(
        addresses, f"Ein Gerät wurde mit Ihrem Konto gekoppelt: {device.name}",
        "device_bound",
        {"name": org.display_name(device.user), "creator": org.display_name(actor),
         "at": timezone.localtime(device.created_at).strftime("%d.%m.%Y %H:%M"),
         "device": device.name, "kind": device.get_kind_display(),
         "room": str(device.room) if device.room_id else ""},
        reason=f"accounts:device:{device.pk}:bound",
        missing=[] if addresses else [device.user.get_username()])


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
    with transaction.atomic(), acting_for(actor):
        device = DeviceToken.objects.select_for_update().filter(pk=device_id).first()
        if device is None:
            raise NotFound("Dieses Gerät gibt es nicht.")
        if device.revoked_at is None:
            device.revoked_at = timezone.now()
            device.save()
            announce_revoked(device=[device.pk])
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
OTHER_ACCOUNT = ("Ihre Anmeldung passt nicht zu dem beistand-Konto, das mit diesem "
                 "Beschäftigtendatensatz verbunden ist. Bitte wenden Sie sich an die "
                 "Administration.")


# A privileged role that ended lately still locks the identity fields: otherwise one
# administrator revokes a ZKS's role, changes the number and grants it again (issue 16,
# re-attack) - the roles without four-eyes would come back at once.
IDENTITY_LOCK_AFTER_DAYS = 30


def identity_locked(user_id) -> bool:
    """True if the account holds a privileged role, waits for one, or held one within the last
    ``IDENTITY_LOCK_AFTER_DAYS`` days (DPO, admin, ZKS, querier, personnel): the
    identity-linking fields of its employee record (e-mail, mobile number, account link) may
    not be changed by a single administrator (issue 16, attack review 2), and its password and
    second factor are reset only with a second person (``second_person_for``)."""
    if user_id is None:
        return False
    grants = RoleGrant.objects.filter(user_id=user_id, role__in=PRIVILEGED_ROLES)
    if (grants.active() | grants.pending_confirmation()).exists():
        return True
    since = timezone.now() - timedelta(days=IDENTITY_LOCK_AFTER_DAYS)
    return grants.filter(Q(revoked_at__gte=since) | Q(expires_at__gte=since,
                                                    expires_at__lte=timezone.now())).exists()


SECOND_PERSON_NEEDED = (
    "Passwort und zweiter Faktor einer Person mit besonderer Rolle (Datenschutz, "
    "Administration, ZKS, Abfrage, Personal) werden nur zu zweit zurückgesetzt: eine zweite "
    "Administratorin, ein zweiter Administrator oder die/der Datenschutzbeauftragte bestätigt "
    "mit eigener Anmeldung (--with BENUTZERNAME).")


def second_person_for(actor, user, second) -> None:
    """Four eyes for taking over an account's credentials: for a person whose identity is
    locked, ``second`` must be another active administrator or the DPO - neither the actor nor
    the person. AccessDenied otherwise."""
    if not identity_locked(user.pk):
        return
    if second is None or second.pk in {getattr(actor, "pk", None), user.pk} \
            or not has_role(second, Role.ADMIN, Role.DPO):
        raise AccessDenied(SECOND_PERSON_NEEDED)


def _refuse_external(detail: str, method: str, email: str, user=None):
    """Refuse an external login, audited (a login mapped to someone else's account is what an
    account takeover through changed master data looks like)."""
    with transaction.atomic():
        audit.record("auth.external_login_refused", object_type="auth.user",
                     object_id=user.pk if user is not None else None,
                     object_repr=user.get_username() if user is not None else email,
                     after={"method": method, "email": email, "reason": detail})
    raise ExternalLoginRefused(detail)


def match_external_login(email: str | None, username: str | None = None,
                         method: str = "oidc"):
    """``(user, employee)`` an external login maps to; ``user`` is None if none exists yet.

    Matching: an account with this username that belongs to an active employee (LDAP passes
    ``username``: the directory login name equals beistand's), else the single active employee
    with this e-mail address. Raises ``ExternalLoginRefused`` when no employee matches, when the
    match is ambiguous, or when the matched account is deactivated. Never matches an account
    without an employee record, so e.g. a technical admin account cannot be taken over via SSO.

    An *existing* account found through the employee's e-mail is matched only if the account's
    own e-mail (``User.email``, set when the account was made; no administration page changes
    it) is that address too. The employee's e-mail and account link are master data an
    administrator edits: set to the administrator's own identity, they mapped that login to the
    DPO's account (issue 16, attack review 2). Such a login is refused and audited.
    """
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
    if employee.user is not None and (employee.user.email or "").strip().lower() != email.lower():
        _refuse_external(OTHER_ACCOUNT, method, email, employee.user)
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
