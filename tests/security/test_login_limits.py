"""Issue 16, finding 14: from a trusted proxy address a spoofed ``X-Forwarded-For`` escaped the
login lockout (every try a new user-name/address pair), and spraying one password over many
accounts was not limited. Now failures count per account (any address), per source address
(any account) and per password (accounts it failed on, any address). Against the real server:
uvicorn trusts X-Forwarded-For from 127.0.0.1, as behind the shipped nginx."""

import json
import urllib.error
import urllib.request

import pytest

from beistand.accounts.models import LoginFailure
from tests.alarms.conftest import ServerThread
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server():
    srv = ServerThread().start()
    yield srv
    srv.stop()


def token(server, username, password, forwarded_for=None):
    request = urllib.request.Request(
        f"{server.http}/api/v1/auth/token", method="POST",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"})
    if forwarded_for:
        request.add_header("X-Forwarded-For", forwarded_for)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_spoofed_forwarded_for_does_not_escape_the_lockout(server, make_user, settings):
    settings.LOCKOUT_ACCOUNT_FAILURES = 8
    make_user("opfer")
    answers = [token(server, "opfer", f"falsch-{i}", forwarded_for=f"203.0.113.{i}")
               for i in range(8)]
    assert answers == [401] * 8  # axes alone never locks: each try is a new pair
    # The reproduction: the right password from yet another spoofed address got a token.
    assert token(server, "opfer", PASSWORD, forwarded_for="203.0.113.200") == 429
    assert token(server, "opfer", PASSWORD) == 429


def test_password_spraying_is_limited_globally(server, make_user, settings):
    settings.LOCKOUT_PASSWORD_ACCOUNTS = 5
    for i in range(8):
        make_user(f"kollege{i}")
    answers = [token(server, f"kollege{i}", "Sommer2026!", forwarded_for=f"198.51.100.{i}")
               for i in range(8)]
    assert answers == [401] * 5 + [429] * 3
    # Others' logins go on.
    assert token(server, "kollege7", PASSWORD, forwarded_for="198.51.100.77") == 201
    assert not LoginFailure.objects.exclude(password_key__regex=r"^[0-9a-f]{32}$").exists()


def test_one_source_trying_many_accounts_is_limited(server, make_user, settings):
    settings.LOCKOUT_SOURCE_FAILURES = 6
    make_user("echt")
    answers = [token(server, f"gibt-es-nicht-{i}", f"geraten-{i}") for i in range(6)]
    assert answers == [401] * 6
    assert token(server, "echt", PASSWORD) == 429
    assert token(server, "echt", PASSWORD, forwarded_for="192.0.2.9") == 201  # another source
