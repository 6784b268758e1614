"""Login, second factor, logout, the own security page, and the administration of role grants
and device tokens. Views only translate between HTTP and ``services``; rules live there."""

import base64
from functools import wraps
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render, resolve_url
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from beistand.accounts import services
from beistand.accounts.forms import CodeForm, DeviceForm, GrantForm, LoginForm, RevokeGrantForm
from beistand.accounts.lockout import MESSAGE as LOCKED_MESSAGE
from beistand.accounts.roles import Role
from beistand.core.errors import Conflict, InvalidInput, Locked, NotFound

_LEVELS = {"success": messages.SUCCESS, "info": messages.INFO, "warning": messages.WARNING,
           "danger": messages.ERROR}


# --- helpers ------------------------------------------------------------------------------------

def flash(request, text: str, kind: str = "success") -> None:
    """A one-time notice for the next page (rendered by the page frame, web/base.html)."""
    messages.add_message(request, _LEVELS[kind], text, fail_silently=True)


def safe_next(request, default: str = "web:start") -> str:
    """The ``next`` target if it stays on this site, else ``default``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return resolve_url(default)


def _with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _is_verified(user) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def _second_factor_step(request, next_url: str) -> str | None:
    """Where a logged-in user must go before ``next_url``, or None if nothing is missing."""
    user = request.user
    if _is_verified(user) or not services.requires_second_factor(user, request):
        return None
    if services.confirmed_totp_device(user) is None:
        return _with_next("accounts:second_factor_setup", next_url)
    return _with_next("accounts:second_factor", next_url)


def forbidden(request, detail: str):
    return render(request, "accounts/forbidden.html", {"detail": detail}, status=403)


def role_required(*roles):
    """Page decorator: logged in, holding one of ``roles``, second factor passed if required.

    The middleware already enforces the second factor; checking here as well keeps the page
    safe should the middleware order ever change.
    """
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not services.has_role(user, *roles):
                names = " oder ".join(f"„{Role(r).label}“" for r in roles)
                return forbidden(request, f"Diese Seite ist der Rolle {names} vorbehalten.")
            step = _second_factor_step(request, request.get_full_path())
            if step:
                return redirect(step)
            return view(request, *args, **kwargs)
        return wrapper
    return decorator


def _oidc_login_url(next_url: str) -> str | None:
    if not settings.OIDC_ENABLED:
        return None
    try:
        return _with_next("oidc_authentication_init", next_url)
    except NoReverseMatch:
        return None


# --- login, second factor, logout ---------------------------------------------------------------

@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = safe_next(request)
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(_second_factor_step(request, next_url) or next_url)
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        auth_login(request, form.user)
        return redirect(_second_factor_step(request, next_url) or next_url)
    return render(request, "accounts/login.html", {
        "form": form, "next": next_url, "oidc_url": _oidc_login_url(next_url),
    }, status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request):
    if request.method == "GET":
        # Logging out changes state, so it needs a POST (CSRF); GET only offers the button.
        return render(request, "accounts/logout.html")
    auth_logout(request)
    flash(request, "Sie wurden abgemeldet.", "info")
    return redirect("accounts:login")


def _locked_response(request):
    auth_logout(request)
    return render(request, "accounts/locked_out.html", {"message": LOCKED_MESSAGE}, status=429)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request):
    next_url = safe_next(request)
    user = request.user
    if _is_verified(user) or not services.requires_second_factor(user, request):
        return redirect(next_url)
    if services.confirmed_totp_device(user) is None:
        return redirect(_with_next("accounts:second_factor_setup", next_url))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.verify_second_factor(request, form.cleaned_data["code"])
        except Locked:
            return _locked_response(request)
        except InvalidInput as error:
            form.apply_service_error(error)
        else:
            return redirect(next_url)
    return render(request, "accounts/second_factor.html", {
        "form": form, "next": next_url,
    }, status=400 if form.errors else 200)


def _qr_svg(data: str, label: str = "QR-Code zur Einrichtung der Authenticator-App") -> str:
    qr = segno.make(data, error="m")
    svg = qr.svg_inline(scale=5, border=4, dark="#000", light="#fff")
    # segno writes no accessibility attributes; add a role and a German name.
    return mark_safe(svg.replace(  # noqa: S308 -- SVG generated by segno from our own URL
        "<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))


def _pairing(token: str) -> dict:
    """What a phone app scans and what a desk phone calls for a new device token."""
    base = settings.BASE_URL.rstrip("/")
    pair_url = "beistand://pair?" + urlencode({"server": base, "token": token})
    return {"pair_url": pair_url, "trigger_url": f"{base}/api/v1/trigger/{token}",
            "qr_svg": _qr_svg(pair_url, "QR-Code zum Koppeln des Geräts mit beistand")}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def second_factor_setup(request):
    next_url = safe_next(request)
    user = request.user
    if services.confirmed_totp_device(user) is not None:
        # Re-enrolment would let a password alone replace the second factor: only via reset.
        if _is_verified(user) or not services.requires_second_factor(user, request):
            flash(request, "Die Zwei-Faktor-Anmeldung ist bereits eingerichtet.", "info")
            return redirect("accounts:security")
        return redirect(_with_next("accounts:second_factor", next_url))
    device = services.start_totp_enrolment(user)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            services.confirm_totp_enrolment(request, form.cleaned_data["code"])
        except InvalidInput as error:
            form.apply_service_error(error)
        except Conflict:
            return redirect(next_url)
        else:
            flash(request, "Die Zwei-Faktor-Anmeldung ist eingerichtet.")
            return redirect(next_url)
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    response = render(request, "accounts/second_factor_setup.html", {
        "form": form, "next": next_url, "qr_svg": _qr_svg(device.config_url),
        "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "required": services.requires_second_factor(user, request),
    }, status=400 if form.errors else 200)
    return response


# --- own security page --------------------------------------------------------------------------

@never_cache
@login_required
def security(request):
    user = request.user
    roles = services.roles_of(user)
    grants = {g.role: g for g in services.own_grants(user)}
    role_rows = [{"label": Role(r).label, "grant": grants.get(r),
                  "derived": r in (Role.REPORTER, Role.SUPERVISOR)}
                 for r in Role if r in roles]
    return render(request, "accounts/security.html", {
        "role_rows": role_rows,
        "tokens": services.list_api_tokens(user),
        "now": timezone.now(),
        "has_device": services.confirmed_totp_device(user) is not None,
        "second_factor_required": services.requires_second_factor(user),
        "verified": _is_verified(user),
        "trusted_idp": services.logged_in_via_trusted_idp(request),
    })


@login_required
@require_POST
def revoke_own_token(request, token_id: int):
    try:
        token = services.revoke_api_token(request.user, token_id)
    except NotFound as error:
        return render(request, "accounts/forbidden.html", {"detail": error.detail}, status=404)
    flash(request, f"Das Token {token.prefix}… wurde widerrufen.")
    return redirect("accounts:security")


# --- administration: role grants ----------------------------------------------------------------

_GRANT_FIELDS = {"expires_at": "expires_on", "user": "username"}


def _grants_page(request, form=None, revoke_errors=None, confirm_errors=None, status=200):
    show_all = request.GET.get("alle") == "1"
    users = (get_user_model().objects.filter(is_active=True).select_related("employee")
             .order_by("username"))
    grant_rows = list(services.list_grants(request.user, include_inactive=show_all))
    for grant in grant_rows:
        grant.revoke_error = (revoke_errors or {}).get(grant.pk)
        grant.confirm_error = (confirm_errors or {}).get(grant.pk)
        grant.confirmable = (grant.pending and grant.revoked_at is None
                             and request.user.pk not in (grant.user_id, grant.granted_by_id))
    return render(request, "accounts/grants.html", {
        "grants": grant_rows,
        "can_manage": services.has_role(request.user, Role.ADMIN),
        "show_all": show_all,
        "form": form or GrantForm(),
        "users": users,
        "now": timezone.now(),
    }, status=status)


@never_cache
@role_required(Role.ADMIN, Role.DPO)
def grants(request):
    return _grants_page(request)


@never_cache
@role_required(Role.ADMIN, Role.DPO)
@require_POST
def grant_confirm(request, grant_id: int):
    """Four-eyes: a second person confirms a pending DPO or admin grant."""
    try:
        grant = services.confirm_grant(request.user, grant_id)
    except NotFound as error:
        return render(request, "accounts/forbidden.html", {"detail": error.detail}, status=404)
    except InvalidInput as error:
        return _grants_page(request, confirm_errors={grant_id: error.detail}, status=400)
    flash(request, f"Bestätigt: {grant.user.get_username()} hat jetzt die Rolle "
                   f"„{grant.get_role_display()}“.")
    return redirect("accounts:grants")


@never_cache
@role_required(Role.ADMIN)
@require_POST
def grant_create(request):
    form = GrantForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            grant = services.grant_role(request.user, data["user"], data["role"], data["reason"],
                                        form.expires_at())
        except InvalidInput as error:
            form.apply_service_error(error, _GRANT_FIELDS)
        else:
            if grant.pending:
                flash(request, f"Die Rolle „{grant.get_role_display()}“ für "
                               f"{grant.user.get_username()} wartet auf die Bestätigung durch "
                               "eine zweite Person (Administration oder Datenschutz).")
            else:
                flash(request, f"{grant.user.get_username()} hat jetzt die Rolle "
                               f"„{grant.get_role_display()}“.")
            return redirect("accounts:grants")
    return _grants_page(request, form=form, status=400)


@never_cache
@role_required(Role.ADMIN)
@require_POST
def grant_revoke(request, grant_id: int):
    form = RevokeGrantForm(request.POST)
    error_text = None
    if form.is_valid():
        try:
            grant = services.revoke_role(request.user, grant_id, form.cleaned_data["reason"])
        except NotFound as error:
            return render(request, "accounts/forbidden.html", {"detail": error.detail},
                          status=404)
        except InvalidInput as error:
            error_text = error.detail
        else:
            flash(request, f"Die Rolle „{grant.get_role_display()}“ von "
                           f"{grant.user.get_username()} wurde entzogen.")
            return redirect("accounts:grants")
    else:
        error_text = " ".join(form.errors.get("reason", ["Bitte den Entzug begründen."]))
    return _grants_page(request, revoke_errors={grant_id: error_text}, status=400)


# --- administration: device tokens --------------------------------------------------------------

def _devices_page(request, form=None, issued=None, status=200):
    response = render(request, "accounts/devices.html", {
        "devices": services.list_device_tokens(request.user),
        "form": form or DeviceForm(),
        "issued": issued,
    }, status=status)
    # The clear token appears in this response only: never cache it anywhere.
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def devices(request):
    if request.method == "GET":
        return _devices_page(request)
    form = DeviceForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            clear, device = services.create_device_token(
                request.user, data["name"], data["kind"], room=data.get("room"),
                user=data.get("user"), alarm_templates=data.get("alarm_templates", ""))
        except InvalidInput as error:
            form.apply_service_error(error)
        else:
            return _devices_page(request, issued={"device": device, "token": clear,
                                                  **_pairing(clear)}, status=201)
    return _devices_page(request, form=form, status=400)


@never_cache
@role_required(Role.ADMIN)
@require_POST
def device_revoke(request, device_id: int):
    try:
        device = services.revoke_device_token(request.user, device_id)
    except NotFound as error:
        return render(request, "accounts/forbidden.html", {"detail": error.detail}, status=404)
    flash(request, f"Das Geräte-Token von „{device.name}“ wurde widerrufen.")
    return redirect("accounts:devices")

