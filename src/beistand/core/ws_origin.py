"""The origin check of WebSocket handshakes (authentication is ``beistand.accounts.ws_auth``)."""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_tuple(scheme: str, host: str, port) -> tuple[str, str, int] | None:
    scheme = (scheme or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    try:
        port = int(port) if port not in (None, "") else _DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return scheme, host.lower().strip("[]"), port


def parse_origin(value: str) -> tuple[str, str, int] | None:
    """``https://host:port`` -> (scheme, host, port), default ports filled in; None if invalid."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return _origin_tuple(parts.scheme, parts.hostname or "", port)


def handshake_origin(scope) -> tuple[str, str, int] | None:
    """The origin the handshake was made to: its scheme (``wss`` is https; behind the proxy
    uvicorn's --proxy-headers sets it from X-Forwarded-Proto) and its Host header."""
    host = ""
    for name, value in scope.get("headers", []):
        if name == b"host":
            host = value.decode("latin-1")
    if not host:
        return None
    domain, port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS or ["localhost"]):
        return None
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    return _origin_tuple(scheme, domain, port)


def origin_allowed(origin: str | None, scope) -> bool:
    """A missing Origin (native clients) is admitted; a browser's Origin must equal the
    handshake's own origin in scheme, host and port, or be one of
    ``BEISTAND_CSRF_TRUSTED_ORIGINS`` exactly."""
    if origin is None:
        return True
    parsed = parse_origin(origin)
    if parsed is None:
        return False
    if parsed == handshake_origin(scope):
        return True
    trusted = {parse_origin(o) for o in getattr(settings, "CSRF_TRUSTED_ORIGINS", [])}
    return parsed in trusted - {None}


class BrowserOriginValidator:
    """Refuse cross-site WebSocket handshakes from browsers; admit native clients.

    Browsers always send ``Origin``, so a foreign origin is refused (cross-site WebSocket
    hijacking with the session cookie) — compared in full: scheme, host and port, so neither
    ``http://`` on an HTTPS site nor another port of the same host passes. Desktop and phone
    clients send none; they authenticate with a bearer token instead, so a missing Origin is
    admitted. Channels' own AllowedHostsOriginValidator refuses a missing Origin (which would
    lock out those clients) and ignores scheme and port.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("BrowserOriginValidator only guards WebSocket connections")
        origin = None
        for name, value in scope.get("headers", []):
            if name == b"origin":
                origin = value.decode("latin-1")
        if origin_allowed(origin, scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
