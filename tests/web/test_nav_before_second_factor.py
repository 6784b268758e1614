"""Privileged navigation appears only after the second factor."""

import pytest

from beistand.accounts.roles import Role
from tests.accounts.helpers import login_verified, totp_device

pytestmark = pytest.mark.django_db


def _nav_links(response):
    return response.content.decode()


def test_admin_sees_no_admin_navigation_before_the_second_factor(client, make_user):
    admin = make_user("verwalterin", roles=[Role.ADMIN])
    totp_device(admin)
    client.force_login(admin)
    response = client.get("/konto/zwei-faktor/")
    assert response.status_code == 200
    html = _nav_links(response)
    assert "/konto/verwaltung/rollen/" not in html
    assert "/konto/verwaltung/geraete/" not in html


def test_admin_sees_admin_navigation_after_the_second_factor(client, make_user):
    admin = make_user("verwalter", roles=[Role.ADMIN])
    login_verified(client, admin)
    html = _nav_links(client.get("/"))
    assert "/konto/verwaltung/rollen/" in html
    assert "/konto/verwaltung/geraete/" in html
