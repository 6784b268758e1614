"""German error pages (HTML) and problem+json under /api/."""

import json

import pytest
from django.test import RequestFactory

from beistand.core import error_pages as errors


def test_404_is_a_german_page(client, db):
    response = client.get("/gibt-es-nicht/")
    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="de"' in html
    assert "Seite nicht gefunden" in html
    assert "Zur Anmeldung" in html  # anonymous: the way back is the login


def test_404_for_logged_in_user_links_to_start(client, make_user, settings):
    settings.DEMO_MODE = True
    client.force_login(make_user("melder"))
    html = client.get("/gibt-es-nicht/").content.decode()
    assert "Zur Startseite" in html
    assert "Hauptnavigation" in html


def test_404_under_api_is_problem_json(client, db):
    response = client.get("/api/v1/gibt-es-nicht")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert json.loads(response.content)["status"] == 404


@pytest.mark.parametrize("handler, status, title", [
    (errors.bad_request, 400, "Ungültige Anfrage"),
    (errors.forbidden, 403, "Keine Berechtigung"),
    (errors.not_found, 404, "Seite nicht gefunden"),
])
def test_handlers_render_german_pages(rf, db, handler, status, title):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/irgendwo/")
    request.user = AnonymousUser()
    response = handler(request, Exception("x"))
    assert response.status_code == status
    html = response.content.decode()
    assert title in html and '<html lang="de"' in html


def test_500_page_renders_without_database_or_context(db, django_assert_num_queries):
    request = RequestFactory().get("/kaputt/")
    with django_assert_num_queries(0):
        response = errors.server_error(request)
    assert response.status_code == 500
    html = response.content.decode()
    assert '<html lang="de"' in html
    assert "Interner Fehler" in html and "Es wurde nichts gespeichert" in html
    assert "/static/vendor/kern/kern.min.css" in html


def test_500_under_api_is_problem_json():
    response = errors.server_error(RequestFactory().get("/api/v1/x"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/problem+json")


def test_csrf_failure_view_is_configured_and_german(settings, rf, db):
    from django.contrib.auth.models import AnonymousUser

    assert settings.CSRF_FAILURE_VIEW == "beistand.core.error_pages.csrf_failure"
    request = rf.post("/konto/anmelden/")
    request.user = AnonymousUser()
    response = errors.csrf_failure(request, reason="CSRF cookie not set.")
    assert response.status_code == 403
    assert "Formular abgelaufen" in response.content.decode()


def test_csrf_failure_on_login_form(db):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/konto/anmelden/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "Formular abgelaufen" in response.content.decode()
