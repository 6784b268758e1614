"""LDAP / Active Directory login (optional extra ``beistand[ldap]``).

After a successful bind the directory account is linked to the employee record: first by login
name (an account that already belongs to an employee), else by the directory's ``mail``
attribute. People without an active employee record are refused and get no account.
"""

import logging

from django.contrib.auth import get_user_model
from django_auth_ldap.backend import LDAPBackend

from beistand.accounts import services

logger = logging.getLogger(__name__)


def _first(attrs, name: str) -> str:
    values = (attrs or {}).get(name) or []
    return str(values[0]).strip() if values else ""


class EmployeeLDAPBackend(LDAPBackend):
    def get_or_build_user(self, username, ldap_user):
        """Called by django-auth-ldap only after the password was accepted by the directory."""
        User = get_user_model()
        mail_attr = self.settings.USER_ATTR_MAP.get("email", "mail")
        email = _first(ldap_user.attrs, mail_attr)
        try:
            user, employee = services.match_external_login(email, username=username,
                                                         method="ldap")
            if user is None and User.objects.filter(username__iexact=username).exists():
                # The name belongs to an account without employee record (e.g. a technical
                # admin account): never hand it to a directory login.
                raise services.ExternalLoginRefused(services.NO_EMPLOYEE)
        except services.ExternalLoginRefused as refusal:
            request = getattr(ldap_user, "_request", None)
            if request is not None:
                # The password was right, so saying why does not help a guesser.
                request.beistand_login_refusal = refusal.detail
            logger.info("LDAP login refused: %s", refusal.detail)
            raise ldap_user.AuthenticationFailed(refusal.detail) from None
        if user is not None:
            return user, False
        ldap_user._beistand_employee = employee
        return User(username=username, email=email), True

    def authenticate_ldap_user(self, ldap_user, password):
        user = super().authenticate_ldap_user(ldap_user, password)
        employee = getattr(ldap_user, "_beistand_employee", None)
        if user is not None and employee is not None:
            # django-auth-ldap has saved the new account; bind it to the employee record.
            services.link_external_user(user, employee, "ldap")
        return user
