"""Review finding (#22): a URL under /api/ that matches no operation - an id that is not a
whole number, a trailing slash - answered 404 with ``type: about:blank``, a type no operation
declares. It is now the documented ``not-found`` problem, like an unknown id."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/alarms/abc/respond", "/api/v1/alarms/-1/respond",
                                  "/api/v1/alarms/1.5/resolve", "/api/v1/alarms/14/respond/",
                                  "/api/v1/gibt-es-nicht"])
def test_a_path_matching_no_operation_is_the_not_found_problem(client, path):
    response = client.post(path, "{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "/api/v1/problems/not-found" and body["status"] == 404
    assert body["title"] == "Seite nicht gefunden" and body["detail"]
