"""Building blocks of the JSON API that every app's router uses: strict request schemas, input
types, authentication classes. The API itself (``/api/v1/``: error mapping, the apps' routers)
is ``beistand.api``; keeping it out of here lets app routers import these blocks without a
circular import."""

from typing import Annotated

from ninja import Schema
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import AfterValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError


class StrictSchema(Schema):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text; refuse it here instead of failing in the database.
    if "\x00" in value:
        raise PydanticCustomError("nul_character", "Steuerzeichen (NUL) sind nicht erlaubt.")
    return value


# Text input of request bodies.
Str = Annotated[str, AfterValidator(_no_nul)]
# Database ids: beyond a 64-bit integer no row exists, and SQLite would overflow on a lookup.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


def _path_args(request) -> dict:
    match = getattr(request, "resolver_match", None)
    return dict(match.kwargs) if match is not None else {}


class BearerUserAuth(HttpBearer):
    """``Authorization: Bearer bst_…`` — a person's API token.

    ``check(user, **path_args)`` (see ``authorised``) runs right after authentication, before
    ninja parses the body: a caller who may not act gets 403/404, never a 400 about the body.
    """

    openapi_scheme = "bearer"

    def __init__(self, check=None):
        super().__init__()
        self.check = check

    def __call__(self, request):
        user = super().__call__(request)
        if user is not None and self.check is not None:
            self.check(user, **_path_args(request))
        return user

    def authenticate(self, request, token):
        from beistand.accounts.services import user_for_api_token

        user = user_for_api_token(token)
        if user is not None:
            request.user = user
            # AuditActorMiddleware ran before the token was read; attribute this request's
            # audited writes to the token's user (the middleware's reset restores the context).
            from beistand.audit.context import _current, actor_for_user

            _current.set(actor_for_user(user, request.META.get("REMOTE_ADDR", "") or ""))
        return user


class BearerDeviceAuth(HttpBearer):
    """``Authorization: Bearer bsd_…`` — a device token (workstation, desk phone, button hub)."""

    def authenticate(self, request, token):
        from beistand.accounts.services import device_for_token

        device = device_for_token(token)
        if device is not None:
            request.device = device
        return device


class SessionUserAuth(APIKeyCookie):
    """The browser session (with CSRF), for htmx and same-origin scripts."""

    param_name = "sessionid"

    def __init__(self, check=None):
        super().__init__()
        self.check = check

    def __call__(self, request):
        user = super().__call__(request)
        if user is not None and self.check is not None:
            self.check(user, **_path_args(request))
        return user

    def _get_key(self, request):
        # Without a session cookie there is nothing to forge: skip the CSRF check, so a client
        # without credentials gets 401 (re-authenticate) instead of a CSRF 403.
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


user_auth = [BearerUserAuth(), SessionUserAuth()]


def authorised(check):
    """``user_auth`` plus an authorisation check that runs before the request body is parsed.

    ``check(user, **path_args)`` raises (``AccessDenied``, ``NotFound``, ``PermissionDenied``)
    when the user may not call the operation (for this object). Without it, ninja validates the
    body first and a caller without the right would learn about the body format (400) instead
    of being refused (403/404).
    """
    return [BearerUserAuth(check), SessionUserAuth(check)]


def role_check(*roles):
    """A ``check`` for ``authorised``: the caller holds one of ``roles``."""
    def check(user, **_path):
        from beistand.accounts.services import require_role

        require_role(user, *roles)

    return check
device_auth = [BearerDeviceAuth()]
