"""NUL characters in a request's address or query are refused with 400 before any view runs
(PostgreSQL raises on NUL in text, which would otherwise surface as a server error)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", [
    "/api/v1/push/subscriptions?endpoint=%00x",
    "/api/v1/alarms?template=a%00b",
    "/register/?q=%00",
    "/meldungen/?status=%00",
])
def test_nul_in_query_is_refused(client, path):
    response = client.delete(path) if "push" in path else client.get(path)
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response["Content-Type"].startswith("application/problem+json")
        assert response.json()["status"] == 400
    else:
        assert "Ungültige Anfrage" in response.content.decode()


def test_ordinary_percent_encoding_passes(client):
    assert client.get("/api/v1/health?x=%20ok%2F").status_code == 200
