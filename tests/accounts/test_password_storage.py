"""Passwords are stored with argon2; the demo password opens nothing outside demo mode."""

import json

import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.real_hasher
def test_new_passwords_are_hashed_with_argon2(make_user):
    user = make_user("hashed")
    assert user.password.startswith("argon2$")
    assert user.check_password(PASSWORD)


def _set_demo_password(user):
    user.set_password("demo")
    user.save(update_fields=["password"])


def test_demo_password_is_refused_outside_demo_mode(make_user, client, settings):
    user = make_user("melderin")
    _set_demo_password(user)
    settings.DEMO_MODE = False
    assert authenticate(RequestFactory().post("/"), username="melderin", password="demo") is None
    response = client.post("/api/v1/auth/token",
                           json.dumps({"username": "melderin", "password": "demo"}),
                           content_type="application/json")
    assert response.status_code == 401
    response = client.post("/konto/anmelden/", {"username": "melderin", "password": "demo"})
    assert response.status_code == 400  # the form again, with its German error
    assert "Benutzername oder Passwort ist falsch" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_demo_password_works_in_demo_mode(make_user, settings):
    user = make_user("demomelder")
    _set_demo_password(user)
    settings.DEMO_MODE = True
    request = RequestFactory().post("/")
    assert authenticate(request, username="demomelder", password="demo") == user
