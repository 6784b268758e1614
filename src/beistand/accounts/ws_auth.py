"""WebSocket authentication: a bearer token (``Authorization`` header, or the
``beistand.bearer.<token>`` subprotocol from browsers; never the URL) of a person or a device,
else the browser session. The check of the handshake's origin, which needs no
accounts, is ``beistand.core.ws_origin``."""

from channels.auth import AuthMiddleware
from channels.db import database_sync_to_async
from channels.sessions import CookieMiddleware, SessionMiddleware

from beistand.accounts.services import device_for_token, user_for_api_token, user_for_session
from beistand.accounts.tokens import bearer_from_handshake


@database_sync_to_async
def _resolve(token: str):
    return user_for_api_token(token), device_for_token(token)


@database_sync_to_async
def _session_user(session):
    return user_for_session(session)


class _TokenAuth:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        token = bearer_from_handshake(scope)
        scope = dict(scope)
        scope["device"] = None
        if token:
            user, device = await _resolve(token)
            scope["device"] = device
            scope["user"] = user
        else:
            # Channels' AuthMiddleware knows nothing of the second factor: judge the session
            # by the same rule as HTTP (a password-only session of a privileged role is out).
            scope["user"] = await _session_user(scope.get("session"))
        return await self.inner(scope, receive, send)


def TokenOrSessionAuthMiddleware(inner):
    return CookieMiddleware(SessionMiddleware(AuthMiddleware(_TokenAuth(inner))))
