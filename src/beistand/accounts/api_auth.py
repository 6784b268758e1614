"""Authentication of the JSON API: a person's bearer token, a device token, the browser session,
and ``authorised(check)`` for role and object checks that run before the body is parsed.

It lives in accounts because it resolves tokens and roles; the schema building blocks every
router uses (``StrictSchema``, ``Str``, ``Id``) stay in ``beistand.core.api``.
"""

from ninja.security import APIKeyCookie, HttpBearer

from beistand.accounts.services import device_for_token, require_role, user_for_api_token
from beistand.audit.context import actor_for_user, switch_actor


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
        user = user_for_api_token(token)
        if user is not None:
            request.user = user
            # AuditActorMiddleware ran before the token was read; attribute this request's
            # audited writes to the token's user (the middleware's reset restores the context).
            switch_actor(actor_for_user(user, request.META.get("REMOTE_ADDR", "") or ""))
        return user


class BearerDeviceAuth(HttpBearer):
    """``Authorization: Bearer bsd_…`` — a device token (workstation, desk phone, button hub)."""

    def authenticate(self, request, token):
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
        require_role(user, *roles)

    return check


device_auth = [BearerDeviceAuth()]
