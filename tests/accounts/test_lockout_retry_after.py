"""Review finding (#22): the login lockout's 429 says how long it lasts (``Retry-After``: the
lockout window in seconds), like every 429 of the API."""

import json

import pytest

pytestmark = pytest.mark.django_db


def test_the_login_lockout_says_how_long(client, make_user, settings):
    make_user("gesperrt")
    answers = [client.post("/api/v1/auth/token",
                           json.dumps({"username": "gesperrt", "password": f"falsch-{i}"}),
                           content_type="application/json")
               for i in range(settings.AXES_FAILURE_LIMIT + 1)]
    locked = answers[-1]
    assert locked.status_code == 429, [a.status_code for a in answers]
    assert locked["Content-Type"].startswith("application/problem+json")
    assert locked["Retry-After"] == str(settings.LOCKOUT_MINUTES * 60)
