"""Public face of the phone web app (``/app/``): its configuration, the device-bound token, and
the lone-worker timer (``beistand.mobile.visits``)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from beistand.accounts.models import ApiToken
from beistand.accounts.roles import Role
from beistand.accounts.services import has_role, requires_second_factor
from beistand.accounts.tokens import USER_TOKEN_PREFIX, new_secret
from beistand.audit import services as audit
from beistand.core.errors import AccessDenied, InvalidInput, NotAuthenticated
from beistand.mobile.visits import (  # noqa: F401 - re-exported
    checkin,
    current,
    end,
    get,
    report_position,
    run_due,
    start,
)
from beistand.organisation import services as org

TOKEN_NAME_PREFIX = "Handy-App"
APP_TEMPLATES = ("beistand", "bedrohung", "medizin", "probealarm")


def issue_device_token(request, device_name: str = "") -> tuple[str, ApiToken]:
    """A long-lived bearer token for this phone, from a browser session that passed the login
    (and the second factor where the role needs it: such a half-logged-in session is anonymous
    for the API, see accounts.middleware). The token is revocable on "Sicherheit & Konto"."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise NotAuthenticated("Bitte zuerst anmelden.")
    if getattr(user, "api_token", None) is not None:
        # A token must not mint its own successors: a leaked one would live for ever.
        raise AccessDenied("Ein Geräte-Token gibt es nur nach der Anmeldung im Browser.")
    device_name = " ".join((device_name or "").split())[:60]
    if "\x00" in device_name:
        raise InvalidInput("Steuerzeichen (NUL) sind nicht erlaubt.", field="device_name")
    otp_ok = requires_second_factor(user, request) and user.is_verified()
    clear, prefix, digest = new_secret(USER_TOKEN_PREFIX)
    with transaction.atomic(), audit.acting_as(audit.actor_for_user(
            user, request.META.get("REMOTE_ADDR", "") or "")):
        token = ApiToken.objects.create(
            user=user, name=f"{TOKEN_NAME_PREFIX}: {device_name or 'Telefon'}"[:100],
            prefix=prefix, token_hash=digest,
            expires_at=timezone.now() + timedelta(days=settings.API_TOKEN_DAYS),
            otp_verified=otp_ok)
        audit.record("mobile.app.token", obj=token, after={"name": token.name})
    return clear, token


def app_config(user) -> dict:
    """What the app needs besides the alarm protocol: who I am, how the button works, where the
    offline SMS goes, the visit timer's times."""
    from beistand.alarms import services as alarms

    templates = [{"code": t.code, "name": t.name, "test": t.test}
                 for t in alarms.templates().filter(triggerable=True, code__in=APP_TEMPLATES)]
    templates.sort(key=lambda t: APP_TEMPLATES.index(t["code"]))
    emp = getattr(user, "employee", None)
    return {
        "user": {"name": org.display_name(user), "username": user.get_username(),
                 "unit": str(emp.unit.code) if emp is not None and emp.unit_id else "",
                 "has_mobile": bool(emp and emp.mobile_phone)},
        "can_lookup": has_role(user, Role.QUERIER),
        "trigger": {"mode": settings.APP_TRIGGER_MODE, "hold_ms": settings.APP_HOLD_MS,
                    "sms_after_s": settings.APP_SMS_FALLBACK_SECONDS},
        "sms_gateway_number": settings.SMS_GATEWAY_NUMBER,
        "heartbeat_s": settings.ALARM_HEARTBEAT_SECONDS,
        "templates": templates,
        "visit": {"checkin_minutes": settings.VISIT_CHECKIN_MINUTES,
                  "prealarm_minutes": settings.VISIT_PREALARM_MINUTES,
                  "max_minutes": settings.VISIT_MAX_MINUTES},
    }
