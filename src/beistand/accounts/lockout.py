"""Login limits beyond django-axes' lockout of one user name from one address.

django-axes locks a (user name, address) pair after ``BEISTAND_LOCKOUT_FAILURES``. The address
is what the server resolved (behind the proxy: the rightmost address not trusted). A caller that
reaches the server from a trusted proxy address can choose that address with
``X-Forwarded-For`` and gets a fresh pair on every try; and spraying one password over many
accounts never fails twice for one pair. So every failed password check is also recorded here
(``LoginFailure``, kept for the lockout window) and a check is refused (429, like axes) when,
within ``BEISTAND_LOCKOUT_MINUTES``:

* the **account** had ``BEISTAND_LOCKOUT_ACCOUNT_FAILURES`` failures from any addresses - but
  only for sources the account never logged in from (within ``BEISTAND_LOCKOUT_KNOWN_SOURCE_DAYS``,
  read from the ``auth.login`` audit events): an attacker who knows a user name throttles
  guessing from new places, but cannot lock the user out of the places they work from (issue 16
  follow-up, attack 10: twenty wrong passwords locked any named account, e.g. the security
  guard's before an attack),
* the **source** had ``BEISTAND_LOCKOUT_SOURCE_FAILURES`` failures for any accounts,
* the **password** tried failed on ``BEISTAND_LOCKOUT_PASSWORD_ACCOUNTS`` different accounts
  (global: whatever the addresses) — spraying.

A **source** is an IPv4 address, or the IPv6 network of ``BEISTAND_LOCKOUT_IPV6_PREFIX`` bits
(default /64: one customer's line gets a whole /64 and rotates addresses in it at will); an
IPv4-mapped IPv6 address counts as its IPv4 address. django-axes' (user name, address) pair uses
the same grouping (``AXES_CLIENT_IP_CALLABLE`` = ``client_source``).

The password is recorded only as a keyed hash (HMAC with the secret key, truncated), never in
clear, and only for failed checks.
"""

import hashlib
import hmac
import ipaddress
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import render
from django.utils import timezone

from beistand.core.problems import problem

MESSAGE = ("Zu viele Fehlversuche: Die Anmeldung ist vorübergehend gesperrt. Bitte versuchen Sie "
           "es später erneut oder wenden Sie sich an die Administration.")
_LOCKED_FLAG = "_beistand_spray_locked"


def locked_out_response(request, credentials, *args, **kwargs):
    if request.path.startswith("/api/"):
        return problem(429, "Vorübergehend gesperrt", MESSAGE, type_slug="locked-out",
                       headers={"Retry-After": str(settings.LOCKOUT_MINUTES * 60)})
    return render(request, "accounts/locked_out.html", {"message": MESSAGE}, status=429)


def window_start():
    return timezone.now() - timedelta(minutes=settings.LOCKOUT_MINUTES)


def password_key(password: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), (password or "").encode("utf-8", "replace"),
                      hashlib.sha256)
    return digest.hexdigest()[:32]


def group_source(address: str) -> str:
    """The source an address counts for: IPv4 itself, IPv6 its network's first address."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return (address or "")[:45]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        network = ipaddress.ip_network(f"{ip}/{settings.LOCKOUT_IPV6_PREFIX}", strict=False)
        return str(network.network_address)
    return str(ip)


def source_of(request) -> str:
    return group_source((request.META.get("REMOTE_ADDR", "") if request is not None else "")
                        or "")


def client_source(request) -> str:
    """``AXES_CLIENT_IP_CALLABLE``: axes counts its pairs per source, as the limits here do."""
    return source_of(request)


def known_source(username: str, source: str) -> bool:
    """Did ``username`` log in from ``source`` (grouped) within the known-source period? Read
    from the trail's ``auth.login`` events (their address is the one the server resolved)."""
    if not username or not source:
        return False
    from beistand.audit.models import AuditEvent

    since = timezone.now() - timedelta(days=settings.LOCKOUT_KNOWN_SOURCE_DAYS)
    addresses = (AuditEvent.objects.filter(action="auth.login", actor_label__iexact=username,
                                           at__gte=since).exclude(remote_addr="")
                 .order_by("-seq").values_list("remote_addr", flat=True)[:500])
    return any(group_source(address) == source for address in set(addresses))


def refusal(request, username: str, password: str) -> str | None:
    """Why a password check must not run now (``account``, ``source``, ``password``), or None."""
    from beistand.accounts.models import LoginFailure

    recent = LoginFailure.objects.filter(at__gte=window_start())
    username = (username or "")[:150]
    source = source_of(request)
    if recent.filter(username__iexact=username).count() >= settings.LOCKOUT_ACCOUNT_FAILURES \
            and not known_source(username, source):
        return "account"
    if source_locked(request):
        return "source"
    accounts = (recent.filter(password_key=password_key(password)).exclude(password_key="")
                .exclude(username__iexact=username)
                .values("username").distinct().count())
    if accounts + 1 > settings.LOCKOUT_PASSWORD_ACCOUNTS:
        return "password"
    return None


def source_locked(request) -> bool:
    """The per-source limit alone: ``BEISTAND_LOCKOUT_SOURCE_FAILURES`` failures (logins,
    enrolment codes) from this address or network within the window."""
    from beistand.accounts.models import LoginFailure

    source = source_of(request)
    return bool(source) and LoginFailure.objects.filter(
        at__gte=window_start(), source=source).count() >= settings.LOCKOUT_SOURCE_FAILURES


_KEY_ATTR = "_beistand_password_key"


def record_failure(request, username: str) -> None:
    """After a failed password check. Django hands the signal only cleansed credentials, so the
    password's key comes from the request, where ``SprayGuardBackend`` put it."""
    from beistand.accounts.models import LoginFailure

    if request is not None and getattr(request, _LOCKED_FLAG, False):
        return  # refused before any check: nothing was guessed
    key = getattr(request, _KEY_ATTR, "") if request is not None else ""
    with transaction.atomic():
        LoginFailure.objects.filter(at__lt=window_start()).delete()
        LoginFailure.objects.create(source=source_of(request), username=(username or "")[:150],
                                    password_key=key)


class SprayGuardBackend:
    """First authentication backend: refuses the check while one of the limits above holds
    (the axes middleware answers 429, as for its own lockout). Authenticates nobody itself."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.AXES_ENABLED or username is None or password is None:
            return None
        why = refusal(request, username, password)
        if request is not None:
            setattr(request, _KEY_ATTR, password_key(password))
        if why is not None:
            if request is not None:
                setattr(request, _LOCKED_FLAG, True)
                request.axes_locked_out = True
            raise PermissionDenied(f"login limit: {why}")
        return None
    # No get_user(): sessions are never bound to this backend (Django's test client and
    # login() pick the first backend that has one).


def _login_failed(sender, credentials, request=None, **kwargs):
    if not settings.AXES_ENABLED or "password" not in credentials:
        return
    record_failure(request, str(credentials.get("username", "")))


def _login_succeeded(sender, request, user, **kwargs):
    from beistand.accounts.models import LoginFailure

    if request is None:
        return
    with transaction.atomic():
        LoginFailure.objects.filter(username__iexact=user.get_username(),
                                    source=source_of(request)).delete()


def connect() -> None:
    from django.contrib.auth.signals import user_logged_in, user_login_failed

    user_login_failed.connect(_login_failed, dispatch_uid="beistand-login-limits")
    user_logged_in.connect(_login_succeeded, dispatch_uid="beistand-login-limits-reset")
