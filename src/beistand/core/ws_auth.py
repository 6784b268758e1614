"""WebSocket authentication: a bearer token (``?token=`` or ``Authorization`` header) of a person
or a device, else the browser session."""

from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, SessionMiddleware


@database_sync_to_async
def _resolve(token: str):
    from beistand.accounts.services import device_for_token, user_for_api_token

    return user_for_api_token(token), device_for_token(token)


class _TokenAuth:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        token = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0]
        for name, value in scope.get("headers", []):
            if name == b"authorization" and value.lower().startswith(b"bearer "):
                token = value[7:].decode().strip()
        scope = dict(scope)
        scope["device"] = None
        if token:
            user, device = await _resolve(token)
            scope["device"] = device
            scope["user"] = user
        else:
            user = scope.get("user")
            scope["user"] = user if user is not None and user.is_authenticated else None
        return await self.inner(scope, receive, send)


def TokenOrSessionAuthMiddleware(inner):
    return CookieMiddleware(SessionMiddleware(AuthMiddleware(_TokenAuth(inner))))


class BrowserOriginValidator(OriginValidator):
    """Refuse cross-site WebSocket handshakes from browsers; admit native clients.

    Browsers always send ``Origin``, so a foreign origin is refused (cross-site WebSocket
    hijacking with the session cookie). Desktop and phone clients send none; they authenticate
    with a bearer token instead, so a missing Origin is admitted. Channels' own
    AllowedHostsOriginValidator refuses a missing Origin, which would lock out those clients.
    """

    def __init__(self, application):
        super().__init__(application, allowed_origins=[])

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        from django.conf import settings

        allowed = settings.ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]"]
        return any(self.match_allowed_origin(parsed_origin, pattern) for pattern in allowed)
