"""A DomainError that a view does not handle becomes the German error page with the error's
status (problem+json under /api/), through one middleware instead of a block in every view."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from beistand.core.errors import AccessDenied, Conflict, NotFound
from beistand.core.middleware import DomainErrorMiddleware


def _view_raising(exc):
    def view(request):
        raise exc

    return view


@pytest.mark.django_db
@pytest.mark.parametrize("exc, status", [
    (NotFound("Diese Meldung gibt es nicht."), 404),
    (AccessDenied("Das dürfen Sie nicht."), 403),
    (Conflict("Schon erledigt."), 409),
])
def test_page_shows_the_german_detail_with_the_status(exc, status):
    request = RequestFactory().get("/meldungen/1/")
    request.user = AnonymousUser()
    middleware = DomainErrorMiddleware(_view_raising(exc))
    response = middleware.process_exception(request, exc)
    assert response.status_code == status
    assert exc.detail in response.content.decode()


def test_api_paths_get_a_problem_detail():
    request = RequestFactory().get("/api/v1/irgendwas")
    response = DomainErrorMiddleware(None).process_exception(request, NotFound("Gibt es nicht."))
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert "Gibt es nicht." in response.content.decode()


def test_other_exceptions_are_left_alone():
    request = RequestFactory().get("/")
    assert DomainErrorMiddleware(None).process_exception(request, ValueError("x")) is None


@pytest.mark.django_db
def test_a_view_that_raises_answers_with_the_page(client, django_user_model):
    """Through the whole stack: the overdue list refuses a user without the ZKS role."""
    user = django_user_model.objects.create_user("ohne-rolle", password="x")
    client.force_login(user)
    response = client.get("/meldungen/ueberfaellig/")
    assert response.status_code == 403
    assert 'lang="de"' in response.content.decode()
