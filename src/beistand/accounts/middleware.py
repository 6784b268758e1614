"""Keeps users of privileged roles on the second-factor step until they have passed it."""

from urllib.parse import urlencode

from django.contrib.auth.models import AnonymousUser
from django.shortcuts import redirect
from django.urls import reverse


class SecondFactorRequiredMiddleware:
    """A session that has passed the password but not the second factor is half-authenticated.

    In the browser it may only reach login, logout and the second-factor pages (everything else
    redirects to ``accounts:second_factor``). For the API such a session does not count at all:
    the request continues as anonymous, so bearer tokens still work but the cookie grants nothing.
    """

    ALLOWED_URL_NAMES = ("accounts:login", "accounts:logout", "accounts:second_factor",
                         "accounts:second_factor_setup")
    EXEMPT_PREFIXES = ("/static/", "/oidc/")

    def __init__(self, get_response):
        self.get_response = get_response
        self._allowed_paths = None

    def _allowed(self, path: str) -> bool:
        if self._allowed_paths is None:
            self._allowed_paths = frozenset(reverse(name) for name in self.ALLOWED_URL_NAMES)
        return path in self._allowed_paths or path.startswith(self.EXEMPT_PREFIXES)

    def __call__(self, request):
        from beistand.accounts.services import requires_second_factor

        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and not self._allowed(request.path)
                and not user.is_verified() and requires_second_factor(user, request)):
            if request.path.startswith("/api/"):
                request.user = AnonymousUser()
            else:
                target = reverse("accounts:second_factor")
                if request.method == "GET":
                    target += "?" + urlencode({"next": request.get_full_path()})
                return redirect(target)
        return self.get_response(request)
