"""OpenID Connect login (Keycloak, ADFS, ...): maps the IdP's e-mail claim to an employee.

Only people with an active employee record may log in. The first login links a new account to
the employee with the same e-mail address; later logins find that account through the employee.
Nobody else gets an account: a refusal is shown on the login page in German.
"""

import logging

import requests
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from beistand.accounts import services

logger = logging.getLogger(__name__)

UNREACHABLE = ("Der Anmeldedienst Ihrer Verwaltung ist zurzeit nicht erreichbar oder hat die "
               "Anmeldung abgelehnt. Bitte versuchen Sie es später erneut oder melden Sie sich "
               "mit Benutzername und Passwort an.")
EMAIL_MISSING = ("Der Anmeldedienst hat keine bestätigte E-Mail-Adresse übermittelt. Bitte "
                 "wenden Sie sich an die Administration.")


class EmployeeOIDCBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as error:
            # Provider down or code rejected: a failed login with an explanation, not a 500.
            logger.warning("OIDC provider request failed: %s", error)
            if request is not None:
                from beistand.accounts.views import flash

                flash(request, UNREACHABLE, "danger")
            return None

    def _refuse(self, detail: str):
        """Tell the person why (via the login page) and stop the login."""
        from beistand.accounts.views import flash

        request = getattr(self, "request", None)
        if request is not None:
            flash(request, detail, "danger")
        logger.info("OIDC login refused: %s", detail)
        # mozilla-django-oidc turns SuspiciousOperation into a failed login (no user).
        raise SuspiciousOperation(detail)

    def verify_claims(self, claims):
        email = (claims.get("email") or "").strip()
        # An address the IdP itself marks as unverified could be anyone's: refuse it. (ADFS does
        # not send the claim at all; there the directory owns the address.)
        if not email or claims.get("email_verified") is False:
            self._refuse(EMAIL_MISSING)
        return True

    def filter_users_by_claims(self, claims):
        """The account of the employee with this e-mail (an empty result means: link anew)."""
        User = get_user_model()
        try:
            user, _employee = services.match_external_login(claims.get("email"))
        except services.ExternalLoginRefused as refusal:
            self._refuse(refusal.detail)
        if user is None:
            return User.objects.none()
        return User.objects.filter(pk=user.pk)

    def create_user(self, claims):
        """First login of an employee: a new account (no local password) bound to the record."""
        User = get_user_model()
        email = (claims.get("email") or "").strip()
        try:
            user, employee = services.match_external_login(email)
        except services.ExternalLoginRefused as refusal:
            self._refuse(refusal.detail)
        if user is not None:
            return user
        username = services.free_username(claims.get("preferred_username", ""),
                                          email.split("@", 1)[0])
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, email=email,
                first_name=(claims.get("given_name") or employee.first_name)[:150],
                last_name=(claims.get("family_name") or employee.last_name)[:150])
            services.link_external_user(user, employee, "oidc")
        return user

    def update_user(self, user, claims):
        return user
