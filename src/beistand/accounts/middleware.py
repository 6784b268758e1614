"""Sends users of privileged roles to the second-factor step until they have passed it."""

from django.shortcuts import redirect
from django.urls import reverse


class SecondFactorRequiredMiddleware:
    # Paths a half-authenticated user may reach: the 2FA pages themselves, logout, static files.
    EXEMPT_PREFIXES = ("/konto/", "/static/", "/api/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from beistand.accounts.services import requires_second_factor

        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated
                and not request.path.startswith(self.EXEMPT_PREFIXES)
                and not user.is_verified() and requires_second_factor(user)):
            return redirect(f"{reverse('accounts:second_factor')}?next={request.path}")
        return self.get_response(request)
