"""Rate limits: register look-ups per querier, alarm floods per person, the login lockout."""

import json
import uuid

import pytest

from beistand.alarms.models import Alarm
from beistand.register.models import Lookup

pytestmark = pytest.mark.django_db

QUERY = {"purpose": "Az. 51/4-123, Hausbesuch", "last_name": "Schneider", "first_name": "Anna"}


def _post(client, url, body, headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


def test_lookups_beyond_the_minute_limit_get_429_and_nothing_is_logged(client, world,
                                                                       settings):
    settings.LOOKUP_LIMIT_PER_MINUTE = 3
    headers = world.headers["querier"]
    for _ in range(2):  # the world already holds one look-up of this querier
        assert _post(client, "/api/v1/register/lookups", QUERY, headers).status_code == 200
    before = Lookup.objects.count()
    response = _post(client, "/api/v1/register/lookups", QUERY, headers)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert "Zu viele Abfragen" in response.json()["detail"]
    assert response["Retry-After"] == "60"
    assert Lookup.objects.count() == before
    # The address look-up counts against the same limit.
    response = _post(client, "/api/v1/register/lookups",
                     {"purpose": QUERY["purpose"], "street": "Weidenweg", "postal_code": "12347"},
                     headers)
    assert response.status_code == 429


def test_lookups_beyond_the_day_limit_get_429(client, world, settings):
    settings.LOOKUP_LIMIT_PER_MINUTE = 0
    settings.LOOKUP_LIMIT_PER_DAY = 2
    headers = world.headers["querier"]
    assert _post(client, "/api/v1/register/lookups", QUERY, headers).status_code == 200
    response = _post(client, "/api/v1/register/lookups", QUERY, headers)
    assert response.status_code == 429
    assert "Tageshöchstzahl" in response.json()["detail"]


def test_the_lookup_page_shows_the_limit_in_german(world, settings):
    settings.LOOKUP_LIMIT_PER_MINUTE = 1
    response = world.browsers["querier"].post("/register/auskunft/", {
        "mode": "person", "purpose": QUERY["purpose"], "last_name": "Schneider",
        "first_name": "Anna"})
    assert response.status_code == 429
    assert "Zu viele Abfragen" in response.content.decode()


def _trigger(client, headers, client_id=None):
    return _post(client, "/api/v1/alarms",
                 {"template": "beistand", "client_id": client_id or uuid.uuid4().hex}, headers)


def test_alarm_flood_is_refused_but_the_first_and_retries_go_through(client, world, settings):
    settings.ALARM_USER_MAX_PER_MINUTE = 3
    headers = world.headers["reporter"]  # the world holds one open Probealarm of the reporter
    first = _trigger(client, headers, "erster-druck")
    assert first.status_code == 201
    assert _trigger(client, headers).status_code == 201
    refused = _trigger(client, headers)
    assert refused.status_code == 429
    assert "laufender Alarm bleibt aktiv" in refused.json()["detail"]
    # A client retrying an alarm that was stored gets that alarm, never a refusal.
    retry = _trigger(client, headers, "erster-druck")
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    # Other people are not affected by this person's flood.
    assert _trigger(client, world.headers["supervisor"]).status_code == 201


def test_after_the_all_clear_a_new_alarm_always_goes_out(client, world, settings):
    settings.ALARM_USER_MAX_PER_MINUTE = 2
    headers = world.headers["reporter"]
    assert _trigger(client, headers).status_code == 201
    assert _trigger(client, headers).status_code == 429
    for alarm in Alarm.objects.filter(sender_user=world.users["reporter"]):
        _post(client, f"/api/v1/alarms/{alarm.pk}/resolve", {}, headers)
    assert not Alarm.objects.filter(sender_user=world.users["reporter"],
                                    state__in=("countdown", "triggered", "acknowledged")).exists()
    assert _trigger(client, headers).status_code == 201


def test_login_is_locked_after_repeated_failures(client, world, settings):
    """The login limit is django-axes' lockout (docs/authentication.md), on the token endpoint
    and the login page alike."""
    settings.AXES_ENABLED = True
    body = {"username": "melder", "password": "falsch-falsch-falsch"}
    statuses = [_post(client, "/api/v1/auth/token", body, {}).status_code
                for _ in range(settings.AXES_FAILURE_LIMIT + 1)]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    page = client.post("/konto/anmelden/", body)
    assert page.status_code == 429
    assert "Zu viele Fehlversuche" in page.content.decode()
