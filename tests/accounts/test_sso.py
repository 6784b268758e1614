"""Single sign-on: OIDC and LDAP logins map to employees; no account without an employee
record; privileged OIDC users still need TOTP unless BEISTAND_OIDC_TRUST_MFA."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.test import RequestFactory
from django.urls import include, path

from beistand.accounts import services
from beistand.accounts.oidc import EmployeeOIDCBackend
from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.organisation.models import Employee
from tests.accounts.helpers import actions_since, audit_mark, totp_device

pytestmark = pytest.mark.django_db
User = get_user_model()
OIDC_BACKEND = "beistand.accounts.oidc.EmployeeOIDCBackend"

# A URL configuration with the OIDC routes, as beistand.urls mounts them when OIDC is enabled.
urlpatterns = [path("oidc/", include("mozilla_django_oidc.urls")),
               path("", include("beistand.urls"))]


@pytest.fixture
def oidc(settings):
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = "beistand"
    settings.OIDC_RP_CLIENT_SECRET = "geheim"
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = "https://idp.invalid/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = "https://idp.invalid/token"
    settings.OIDC_OP_USER_ENDPOINT = "https://idp.invalid/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = "https://idp.invalid/jwks"
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_RP_SCOPES = "openid email profile"
    settings.OIDC_TRUST_MFA = False
    settings.LOGIN_REDIRECT_URL_FAILURE = "/konto/anmelden/"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, OIDC_BACKEND]
    return settings


@pytest.fixture
def backend(oidc):
    instance = EmployeeOIDCBackend()
    request = RequestFactory().get("/oidc/callback/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    instance.request = request
    return instance


def shown(backend) -> str:
    """The messages the backend queued for the next page."""
    return " ".join(str(m) for m in backend.request._messages)


def employee(org, email, user=None, active=True, number=None):
    with transaction.atomic():
        return Employee.objects.create(
            personnel_number=number or f"S{Employee.objects.count() + 1:05d}",
            last_name="Muster", first_name="Erika",
            email=email, unit=org["abt"], user=user, active=active)


# --- OIDC user mapping --------------------------------------------------------------------------

def test_verify_claims_needs_a_verified_email(backend):
    assert backend.verify_claims({"email": "a@teststadt.example", "email_verified": True})
    assert backend.verify_claims({"email": "a@teststadt.example"})  # ADFS sends no flag
    for claims in ({}, {"email": ""}, {"email": "a@teststadt.example", "email_verified": False}):
        with pytest.raises(SuspiciousOperation):
            backend.verify_claims(claims)
    assert "E-Mail-Adresse" in shown(backend)


def test_existing_account_is_found_through_the_employee(backend, make_user):
    user = make_user("melder")
    found = backend.filter_users_by_claims({"email": "MELDER@teststadt.example"})
    assert list(found) == [user]


def test_first_login_creates_account_linked_to_employee(backend, org):
    emp = employee(org, "erika.muster@teststadt.example")
    assert list(backend.filter_users_by_claims({"email": emp.email})) == []
    mark = audit_mark()
    user = backend.create_user({"email": "Erika.Muster@teststadt.example",
                                "preferred_username": "emuster", "given_name": "Erika",
                                "family_name": "Muster"})
    emp.refresh_from_db()
    assert emp.user == user
    assert user.username == "emuster"
    assert not user.has_usable_password()
    assert services.roles_of(User.objects.get(pk=user.pk)) == {Role.REPORTER}
    actions = actions_since(mark)
    assert "organisation.employee.update" in actions
    assert "auth.external_account_linked" in actions
    event = AuditEvent.objects.get(seq__gt=mark, action="auth.external_account_linked")
    assert event.after == {"method": "oidc", "username": "emuster"}
    # The next login finds the same account.
    assert list(backend.filter_users_by_claims({"email": emp.email})) == [user]


def test_username_collision_gets_a_suffix(backend, org, make_user):
    make_user("emuster", employee=False)
    emp = employee(org, "erika.muster@teststadt.example")
    user = backend.create_user({"email": emp.email, "preferred_username": "emuster"})
    assert user.username == "erika.muster"
    emp2 = employee(org, "emuster@andere.example", number="P-2")
    user2 = backend.create_user({"email": emp2.email, "preferred_username": "emuster"})
    assert user2.username == "emuster-2"


def test_no_employee_no_account(backend, org):
    count = User.objects.count()
    mark = audit_mark()
    claims = {"email": "fremd@teststadt.example"}
    with pytest.raises(SuspiciousOperation):
        backend.filter_users_by_claims(claims)
    with pytest.raises(SuspiciousOperation):
        backend.create_user(claims)
    assert User.objects.count() == count
    assert actions_since(mark) == []
    assert "keinen aktiven Beschäftigtendatensatz" in shown(backend)


def test_inactive_employee_is_refused(backend, org):
    employee(org, "alt@teststadt.example", active=False)
    with pytest.raises(SuspiciousOperation):
        backend.create_user({"email": "alt@teststadt.example"})


def test_ambiguous_email_is_refused(backend, org):
    employee(org, "team@teststadt.example", number="P-1")
    employee(org, "team@teststadt.example", number="P-2")
    with pytest.raises(SuspiciousOperation):
        backend.filter_users_by_claims({"email": "team@teststadt.example"})
    assert "mehreren Beschäftigten" in shown(backend)


def test_account_without_employee_cannot_be_taken_over(backend, make_user):
    # A technical account with a matching address but no employee record.
    make_user("technik", employee=False)
    with pytest.raises(SuspiciousOperation):
        backend.filter_users_by_claims({"email": "technik@teststadt.example"})


def test_deactivated_account_is_refused(backend, make_user):
    user = make_user("melder")
    user.is_active = False
    user.save()
    with pytest.raises(SuspiciousOperation):
        backend.filter_users_by_claims({"email": "melder@teststadt.example"})


def test_full_callback_mapping_without_network(oidc, org):
    """mozilla-django-oidc's own flow (get_or_create_user) with the IdP's answer stubbed."""
    class OfflineBackend(EmployeeOIDCBackend):
        claims: dict = {}

        def get_userinfo(self, access_token, id_token, payload):
            return self.claims

    emp = employee(org, "erika.muster@teststadt.example")
    backend = OfflineBackend()
    backend.request = None
    backend.claims = {"email": emp.email, "email_verified": True, "preferred_username": "em"}
    first = backend.get_or_create_user("at", "it", {})
    second = backend.get_or_create_user("at", "it", {})
    assert first == second
    emp.refresh_from_db()
    assert emp.user == first
    backend.claims = {"email": "fremd@teststadt.example"}
    with pytest.raises(SuspiciousOperation):
        backend.get_or_create_user("at", "it", {})


# --- OIDC in the login flow ---------------------------------------------------------------------

@pytest.mark.urls(__name__)
def test_login_page_offers_the_service_account_button(client, oidc, org):
    html = client.get("/konto/anmelden/?next=/konto/sicherheit/").content.decode()
    assert "Mit Dienstkonto anmelden" in html
    assert 'href="/oidc/authenticate/?next=%2Fkonto%2Fsicherheit%2F"' in html


class OfflineOIDCBackend(EmployeeOIDCBackend):
    """The real backend with only the provider round-trips (token exchange, signature check,
    userinfo call) answered locally."""

    claims: dict = {}

    def get_token(self, payload):
        return {"id_token": "id-token", "access_token": "access-token"}

    def verify_token(self, token, **kwargs):
        return {"nonce": kwargs.get("nonce")}

    def get_userinfo(self, access_token, id_token, payload):
        return type(self).claims


def _callback(client, claims, next_url="/konto/sicherheit/"):
    """Run mozilla-django-oidc's callback view as after the provider's redirect."""
    OfflineOIDCBackend.claims = claims
    session = client.session
    session["oidc_states"] = {"st": {"nonce": "n0", "code_verifier": None, "added_on": 0}}
    session["oidc_login_next"] = next_url
    session.save()
    return client.get("/oidc/callback/?code=c0&state=st")


@pytest.fixture
def offline_oidc(oidc):
    oidc.AUTHENTICATION_BACKENDS = [b for b in oidc.AUTHENTICATION_BACKENDS if b != OIDC_BACKEND]
    oidc.AUTHENTICATION_BACKENDS.append("tests.accounts.test_sso.OfflineOIDCBackend")
    return oidc


@pytest.mark.urls(__name__)
def test_unreachable_provider_is_a_failed_login_not_a_500(client, oidc, org):
    """The real backend against an address that does not resolve (no outside traffic)."""
    assert oidc.OIDC_OP_TOKEN_ENDPOINT.startswith("https://idp.invalid/")  # RFC 2606
    session = client.session
    session["oidc_states"] = {"st": {"nonce": "n0", "code_verifier": None, "added_on": 0}}
    session.save()
    response = client.get("/oidc/callback/?code=c0&state=st")
    assert response.status_code == 302
    assert response["Location"] == "/konto/anmelden/"
    assert "nicht erreichbar" in client.get("/konto/anmelden/").content.decode()


@pytest.mark.urls(__name__)
def test_callback_logs_employee_in(client, offline_oidc, org):
    emp = employee(org, "erika.muster@teststadt.example")
    response = _callback(client, {"email": emp.email, "email_verified": True,
                                  "preferred_username": "emuster"})
    assert response.status_code == 302
    assert response["Location"] == "/konto/sicherheit/"
    assert client.get("/konto/sicherheit/").status_code == 200
    emp.refresh_from_db()
    assert emp.user.username == "emuster"
    assert AuditEvent.objects.filter(action="auth.login", actor=emp.user).exists()


@pytest.mark.urls(__name__)
def test_callback_refusal_is_explained_on_the_login_page(client, offline_oidc, org):
    count = User.objects.count()
    response = _callback(client, {"email": "fremd@teststadt.example", "email_verified": True})
    assert response.status_code == 302
    assert response["Location"] == "/konto/anmelden/"
    html = client.get("/konto/anmelden/").content.decode()
    assert "keinen aktiven Beschäftigtendatensatz" in html
    assert User.objects.count() == count
    assert "_auth_user_id" not in client.session


def test_privileged_oidc_user_still_needs_totp(client, oidc, make_user):
    user = make_user("zks", roles=[Role.ZKS])
    totp_device(user)
    client.force_login(user, backend=OIDC_BACKEND)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/zwei-faktor/")


def test_trusted_idp_mfa_skips_totp_for_oidc_sessions_only(client, oidc, make_user):
    oidc.OIDC_TRUST_MFA = True
    user = make_user("zks", roles=[Role.ZKS])
    client.force_login(user, backend=OIDC_BACKEND)
    assert client.get("/").status_code == 200
    assert client.get("/konto/sicherheit/").status_code == 200
    assert "über das Dienstkonto" in client.get("/konto/sicherheit/").content.decode()

    # A password login of the same person still needs the second factor.
    other = type(client)()
    other.force_login(user, backend="beistand.accounts.backends.RoleAwareModelBackend")
    assert other.get("/")["Location"].startswith("/konto/zwei-faktor/")


def test_trust_flag_is_off_without_oidc(settings, make_user):
    user = make_user("zks", roles=[Role.ZKS])
    request = RequestFactory().get("/")
    request.session = {"_auth_user_backend": OIDC_BACKEND}
    assert services.requires_second_factor(user, request)


# --- LDAP ---------------------------------------------------------------------------------------

def test_match_by_login_name_then_email(make_user, org):
    user = make_user("melder")
    assert services.match_external_login("anders@x.example", username="MELDER")[0] == user
    emp = employee(org, "neu@teststadt.example")
    assert services.match_external_login("neu@teststadt.example", username="neu") == (None, emp)
    with pytest.raises(services.ExternalLoginRefused):
        services.match_external_login("", username="unbekannt")



@pytest.fixture
def ldap_backend(settings):
    pytest.importorskip("django_auth_ldap", reason="optional extra beistand[ldap]")
    settings.AUTH_LDAP_USER_ATTR_MAP = {"first_name": "givenName", "last_name": "sn",
                                        "email": "mail"}
    settings.AUTH_LDAP_SERVER_URI = "ldap://ldap.invalid"
    from beistand.accounts.ldap import EmployeeLDAPBackend

    return EmployeeLDAPBackend()


def offline_ldap_user(backend, username, attrs, password_ok=True, request=None):
    """django-auth-ldap's user object with the directory round-trips (bind, search) replaced
    by fixed answers: the backend's own mapping and saving logic runs unchanged."""
    from django_auth_ldap.backend import _LDAPUser

    class OfflineLDAPUser(_LDAPUser):
        def _authenticate_user_dn(self, password):
            if not password_ok:
                raise self.AuthenticationFailed("invalid credentials")

        def _check_requirements(self):
            pass

    ldap_user = OfflineLDAPUser(backend, username=username, request=request)
    ldap_user._user_dn = f"uid={username},ou=people,dc=teststadt"
    ldap_user._user_attrs = attrs
    return ldap_user


def test_ldap_first_login_links_employee(ldap_backend, org):
    emp = employee(org, "erika.muster@teststadt.example")
    ldap_user = offline_ldap_user(ldap_backend, "emuster", {
        "mail": ["erika.muster@teststadt.example"], "givenName": ["Erika"], "sn": ["Muster"]})
    user = ldap_backend.authenticate_ldap_user(ldap_user, "pw")
    assert user is not None and user.username == "emuster"
    emp.refresh_from_db()
    assert emp.user == user
    assert not user.has_usable_password()
    assert AuditEvent.objects.filter(action="auth.external_account_linked").exists()
    # Second login: found by login name, same account.
    again = ldap_backend.authenticate_ldap_user(
        offline_ldap_user(ldap_backend, "emuster", {"mail": ["erika.muster@teststadt.example"]}),
        "pw")
    assert again == user


def test_ldap_without_employee_is_refused_with_reason(ldap_backend, org):
    request = RequestFactory().post("/konto/anmelden/")
    ldap_user = offline_ldap_user(ldap_backend, "fremd", {"mail": ["fremd@x.example"]},
                                  request=request)
    assert ldap_backend.authenticate_ldap_user(ldap_user, "pw") is None
    assert not User.objects.filter(username="fremd").exists()
    assert "Beschäftigtendatensatz" in request.beistand_login_refusal


def test_ldap_does_not_take_over_technical_account(ldap_backend, make_user, org):
    make_user("admin", employee=False)
    employee(org, "admin@teststadt.example")
    ldap_user = offline_ldap_user(ldap_backend, "admin", {"mail": ["admin@teststadt.example"]})
    assert ldap_backend.authenticate_ldap_user(ldap_user, "pw") is None


def test_ldap_wrong_password_creates_nothing(ldap_backend, org):
    employee(org, "erika.muster@teststadt.example")
    ldap_user = offline_ldap_user(ldap_backend, "emuster",
                                  {"mail": ["erika.muster@teststadt.example"]},
                                  password_ok=False)
    assert ldap_backend.authenticate_ldap_user(ldap_user, "falsch") is None
    assert not User.objects.filter(username="emuster").exists()
