"""A small run of the combined-deviation scenario (bench/lookup_combined.py's own generator,
independent of the matcher's rules and tables) through the real service and database: two or
three faults per query, gaps on the register side, namesakes and near-homonyms, unrelated
queries. The benchmark measures the figures at 100,000+ persons; this asserts that the pieces
work together at small scale, with surname frequencies switched on."""

import random
import sys
from datetime import date
from pathlib import Path

import pytest

from beistand.register import lookup, matching
from tests.register.test_lookup import PURPOSE, make_person, querier  # noqa: F401 (fixture)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import lookup_combined as scenario

pytestmark = pytest.mark.django_db

PERSONS = 150
QUERIES = 60


@pytest.fixture
def register(settings):
    settings.MATCH_FREQUENCY_MIN_PERSONS = 50
    settings.LOOKUP_LIMIT_PER_MINUTE = settings.LOOKUP_LIMIT_PER_DAY = 0
    lookup._SIZE_CACHE.clear()
    rng = random.Random(3)
    make = scenario.make_factory(3)
    identities = {}
    for _ in range(PERSONS):
        ident = make(rng)
        last, first, birth, _, dob, address, _ = ident
        person = make_person(last, first, dob, birth_name=birth, address=address)
        identities[person.pk] = ident
    yield identities
    lookup._SIZE_CACHE.clear()


def test_combined_deviations_at_small_scale(querier, register):  # noqa: F811
    rng = random.Random(4)
    pids = sorted(register)
    found = asked = shown = relevant = 0
    for _ in range(QUERIES):
        pid = rng.choice(pids)
        _, query = scenario.variant_query(rng, register[pid])
        if query is None:
            continue
        asked += 1
        cards = lookup.lookup_person(querier, PURPOSE, **query)["candidates"]
        found += any(c["entry_id"] == pid for c in cards)
        for card in cards:
            shown += 1
            relevant += card["entry_id"] == pid or scenario.compatible(
                register[card["entry_id"]], register[pid])
            assert card["level"] == matching.match_level(card["score"]) != ""
            assert card["explanation"] == matching.explain(card["match"])
    assert asked >= QUERIES * 0.9
    # Regression guards at 150 persons (seeds 3/4); the figures at scale are in
    # docs/performance.md.
    assert found / asked >= 0.55, (found, asked)  # measured 37 of 60
    assert relevant / shown >= 0.9, (relevant, shown)  # measured 37 of 37


def test_unrelated_persons_are_rarely_shown(querier, register):  # noqa: F811
    stranger = scenario.make_factory(99)
    rng = random.Random(5)
    shown = 0
    for _ in range(20):
        last, first, _, _, dob, _, _ = stranger(rng)
        cards = lookup.lookup_person(querier, PURPOSE, last, first.split(" ")[0] or "Anna",
                                     dob or date(1970, 1, 1))["candidates"]
        shown += sum(not scenario.compatible(register[c["entry_id"]],
                                             (last, first, "", [], dob, None, ""))
                     for c in cards)
    assert shown <= 2  # measured 0
