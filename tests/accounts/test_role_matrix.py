"""Every role against every role-restricted page and endpoint of the accounts app."""

import pytest

from beistand.accounts import services
from beistand.accounts.roles import PRIVILEGED_ROLES, Role
from tests.accounts.helpers import login_verified

pytestmark = pytest.mark.django_db

API = ["/api/v1/roles/grants", "/api/v1/devices"]
PAGES = ["/konto/verwaltung/rollen/", "/konto/verwaltung/geraete/"]
# Who may enter; everything else is denied.
ALLOWED = {path: {Role.ADMIN} for path in [*API, *PAGES, "/django-admin/"]}
# The DPO reads the role grants and confirms pending ones (four-eyes, issue 16).
ALLOWED["/api/v1/roles/grants"] = ALLOWED["/konto/verwaltung/rollen/"] = {Role.ADMIN, Role.DPO}


def user_with(make_user, org, role):
    if role == Role.REPORTER:
        return make_user("person")
    if role == Role.SUPERVISOR:
        return make_user("person", head_of=org["abt"])
    return make_user("person", roles=[role])


@pytest.mark.parametrize("role", list(Role))
def test_user_holds_exactly_the_expected_roles(make_user, org, role):
    user = user_with(make_user, org, role)
    held = services.roles_of(user)
    assert role in held
    assert held - {role} <= {Role.REPORTER}
    assert services.requires_second_factor(user) == (role in PRIVILEGED_ROLES)


@pytest.mark.parametrize("path", API)
@pytest.mark.parametrize("role", list(Role))
def test_api_per_role(client, make_user, org, bearer, role, path):
    headers = bearer(user_with(make_user, org, role))
    response = client.get(path, **headers)
    if role in ALLOWED[path]:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 403
        assert response["Content-Type"] == "application/problem+json"
        assert "Administration" in response.json()["detail"]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("role", list(Role))
def test_pages_per_role(client, make_user, org, role, path):
    login_verified(client, user_with(make_user, org, role))
    response = client.get(path)
    if role in ALLOWED[path]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "Keine Berechtigung" in response.content.decode()


@pytest.mark.parametrize("role", list(Role))
def test_django_admin_per_role(client, make_user, org, role):
    login_verified(client, user_with(make_user, org, role))
    response = client.get("/django-admin/")
    if role in ALLOWED["/django-admin/"]:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert "/django-admin/login/" in response["Location"]


@pytest.mark.parametrize("path", [*API, *PAGES, "/django-admin/", "/konto/sicherheit/"])
def test_anonymous_is_denied_everywhere(client, org, path):
    response = client.get(path)
    if path.startswith("/api/"):
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert "login" in response["Location"] or "anmelden" in response["Location"]


def test_security_page_is_open_to_every_user(client, make_user, org):
    login_verified(client, make_user("person"))
    assert client.get("/konto/sicherheit/").status_code == 200
