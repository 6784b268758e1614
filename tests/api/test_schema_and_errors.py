"""The API's contract: OpenAPI document, browsable docs, problem details for every error."""

import json

import pytest

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def test_openapi_document_lists_the_api(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/v1/auth/token", "/api/v1/auth/me", "/api/v1/organisation/units",
                 "/api/v1/devices", "/api/v1/roles/grants"):
        assert path in schema["paths"], path


def test_browsable_docs_are_served_with_a_csp(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.content
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_unknown_api_path_is_a_problem(client):
    response = client.get("/api/v1/gibt-es-nicht")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json()["detail"]


def test_unauthenticated_request_is_401_problem(client):
    response = client.get("/api/v1/organisation/units")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert "Anmeldung" in response.json()["detail"]


def test_malformed_json_is_400_problem_and_creates_nothing(client):
    from beistand.accounts.models import ApiToken

    response = client.post("/api/v1/auth/token", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert response.json()["detail"] == "Der Anfrageinhalt ist kein gültiges JSON."
    assert ApiToken.objects.count() == 0


def test_wrong_type_names_the_field(client):
    response = client.post("/api/v1/auth/token",
                           json.dumps({"username": "a", "password": ["x"]}),
                           content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [{"field": "password", "detail": "Muss ein Text sein."}]


def test_missing_field_names_the_field(client):
    response = client.post("/api/v1/auth/token", json.dumps({"username": "a"}),
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "password", "detail": "Pflichtfeld fehlt."}]


def test_oversized_body_is_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/auth/token",
                           json.dumps({"username": "a", "password": "x" * 5000}),
                           content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
