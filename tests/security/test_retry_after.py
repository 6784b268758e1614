"""Review finding (#22): every 429 of the API says when to try again (``Retry-After``, seconds):
the register look-up's day limit (until the next local midnight), like the minute limit and the
alarm floods already did; the login lockout: tests/accounts/test_lockout_retry_after.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.security.test_rate_limits import QUERY, _post

pytestmark = pytest.mark.django_db


def test_the_day_limit_says_until_midnight(client, world, settings):
    settings.LOOKUP_LIMIT_PER_MINUTE = 0
    settings.LOOKUP_LIMIT_PER_DAY = 1
    response = _post(client, "/api/v1/register/lookups", QUERY, world.headers["querier"])
    assert response.status_code == 429
    now = timezone.localtime()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    expected = midnight.timestamp() - now.timestamp()
    assert abs(int(response["Retry-After"]) - expected) <= 5

