"""Issue 16, finding 3: differencing allowed statistics queries reveals nothing certain.

The attack: two key-figure queries whose periods differ by one day gave that day's incident
exactly (level 3, field service, injured, 14 days unfit for work); adding ``unit=…`` named the
unit. Periods are now whole months, and every published count carries consistent cell-key noise
(``stats/ckm.py``), so overlapping queries' differences are noisy.
"""

import random
from collections import Counter

import pytest

from beistand.accounts.roles import Role
from beistand.stats import ckm
from tests.stats.conftest import at, make_incident

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats/key-figures"
D = 2


@pytest.fixture(autouse=True)
def _fixed_key(settings):
    # The noise depends on the installation's secret; fixed here so the figures are repeatable.
    settings.SECRET_KEY = "differencing-test-secret-0001-abcdefghijklmnopqrstuvwxyz"
    settings.STATS_NOISE = D
    settings.STATS_MIN_CELL = 5


@pytest.fixture
def march(staff):
    """March 2025: Amt 32 has 9 level-2 office incidents; Amt 51 has 7 level-2 office incidents
    with 3 days unfit each, and on 20 March the target: level 3, field, injured, 14 days."""
    o, j = staff["ordnung"], staff["jugend"]
    for day in range(1, 10):
        make_incident(o, at(2025, 3, day), level=2)
    for day in range(1, 8):
        make_incident(j, at(2025, 3, day), level=2, injuries="Prellung", incapacity=3)
    make_incident(j, at(2025, 3, 20), level=3, field=True, injuries="Platzwunde",
                  incapacity=14)
    return staff


def figures(client, headers, **params):
    response = client.get(URL, params, **headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_one_day_differencing_gives_identical_answers(client, bearer, readers, march):
    h = bearer(readers[Role.STATISTICS])
    before = figures(client, h, **{"from": "2025-03-01", "to": "2025-03-19"})
    with_day = figures(client, h, **{"from": "2025-03-01", "to": "2025-03-20"})
    # Both are the whole of March: the day cannot be isolated.
    assert (before["from"], before["to"]) == ("2025-03-01", "2025-03-31")
    assert with_day == before
    # The same from the other end of the month.
    assert figures(client, h, **{"from": "2025-03-20", "to": "2025-03-31"}) == before


def test_unit_narrowing_reveals_nothing_certain(client, bearer, readers, march):
    h = bearer(readers[Role.STATISTICS])
    # Adding the unit to the one-day pair: still identical answers.
    a = figures(client, h, **{"from": "2025-03-01", "to": "2025-03-19", "unit": "51"})
    b = figures(client, h, **{"from": "2025-03-01", "to": "2025-03-20", "unit": "51"})
    assert a == b
    # The closest the attacker gets at month granularity: Amt 51 with and without level 3
    # differ by the target alone. Every count is noisy, consistently (asking again repeats it).
    whole = figures(client, h, **{"from": "2025-03-01", "to": "2025-03-31", "unit": "51"})
    without = figures(client, h, **{"from": "2025-03-01", "to": "2025-03-31", "unit": "51",
                                    "level": "0,1,2"})
    assert whole == a
    assert figures(client, h, **{"from": "2025-03-01", "to": "2025-03-31", "unit": "51"}) == whole
    true_incidents = (8, 7)
    d_incidents = whole["figures"]["incidents"] - without["figures"]["incidents"]
    # Both "the target is in" (true difference 1) and "it is not" (0) fit the published
    # difference, whatever it is; the published counts are plausible (within ±D, never < 1).
    assert abs(d_incidents - 1) <= 2 * D and abs(d_incidents - 0) <= 2 * D
    for published, true in zip((whole["figures"]["incidents"], without["figures"]["incidents"]),
                               true_incidents, strict=True):
        assert published >= 1 and abs(published - true) <= D
    # The 14 days: each sum carries noise in steps of max(3, 10 %), so the difference is
    # consistent with many true day counts, not just 14.
    days_whole, days_without = (whole["figures"]["incapacity_days"],
                                without["figures"]["incapacity_days"])
    step = 3
    consistent = [t for t in range(0, 40)
                  if abs((days_whole - days_without) - t) <= 2 * D * step]
    assert 14 in consistent and len(consistent) > 10
    assert days_whole >= 0 and days_without >= 0


def test_same_cell_same_noise_and_the_noise_is_as_documented(settings):
    rng = random.Random(16)
    sums = [rng.randrange(0, ckm.P * 50) for _ in range(20000)]
    counts = Counter(ckm.noise(s) for s in sums)
    weights = {v: D + 1 - abs(v) for v in range(-D, D + 1)}
    total = sum(weights.values())
    for value, weight in weights.items():
        assert abs(counts[value] / len(sums) - weight / total) < 0.02
    assert set(counts) == set(weights)
    # Consistent: the same cell key always gives the same published value.
    assert {ckm.perturb(12, 987654321, 5) for _ in range(5)} == {ckm.perturb(12, 987654321, 5)}
    # Plausible: never negative, every count n ≥ 1 perturbed by at most D (small ones by at most
    # n, so never below 0); 0 (no record) stays 0.
    for n in range(0, 30):
        for s in sums[:200]:
            value = ckm.perturb(n, s, 5)
            assert value >= 0 and abs(value - n) <= min(D, n)
            assert ckm.perturb_sum(n, s) >= 0
    # A true 1 is published as 0, 1 or 2 (1/4, 1/2, 1/4): a shown 0 does not prove absence.
    ones = Counter(ckm.perturb(1, s) for s in sums)
    assert set(ones) == {0, 1, 2} and abs(ones[0] / len(sums) - 0.25) < 0.02
