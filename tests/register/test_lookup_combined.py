"""Look-up with missing fields and combined deviations, through the real service and database.

A field missing on either side is neither for nor against (a querier who knows more never finds
less); two deviations at once (name and date, surname and first name) still find the person;
a clearly different person is still not shown.
"""

from datetime import date

import pytest
from django.db import transaction

from beistand.register import lookup, matching
from tests.register.test_lookup import PURPOSE, make_person, querier  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def ids(user, **query):
    return [c["entry_id"] for c in lookup.lookup_person(user, PURPOSE, **query)["candidates"]]


# --- Missing fields: neither for nor against -------------------------------------------------

def test_entry_without_date_of_birth_is_found_with_any_date(querier):  # noqa: F811
    krawczyk = make_person("Krawczyk", "Dariusz")  # reports need only a last name: no date
    assert ids(querier, last_name="Krawczyk", first_name="Dariusz") == [krawczyk.pk]
    for dob in (date(1980, 1, 1), date(1955, 12, 24), date(2001, 7, 30)):
        assert ids(querier, last_name="Krawczyk", first_name="Dariusz",
                   date_of_birth=dob) == [krawczyk.pk], dob
    card = lookup.lookup_person(querier, PURPOSE, "Krawczyk", "Dariusz",
                                date(1980, 1, 1))["candidates"][0]
    assert {"field": "date_of_birth", "how": matching.MISSING} in card["match"]


def test_entry_without_first_name_is_found_with_any_first_name(querier):  # noqa: F811
    krawczyk = make_person("Krawczyk", dob=date(1979, 4, 2))
    assert ids(querier, last_name="Krawczyk", date_of_birth=date(1979, 4, 2)) == [krawczyk.pk]
    for first in ("Dariusz", "Piotr"):
        assert ids(querier, last_name="Krawczyk", first_name=first,
                   date_of_birth=date(1979, 4, 2)) == [krawczyk.pk], first


def test_entry_without_address_is_found_when_the_querier_gives_one(querier):  # noqa: F811
    krawczyk = make_person("Krawczyk", "Dariusz")
    assert ids(querier, last_name="Krawczyk", first_name="Dariusz", street="Venloer Straße",
               postal_code="50825") == [krawczyk.pk]


def test_known_date_ranks_above_missing_date_and_both_are_shown(querier):  # noqa: F811
    without = make_person("Krawczyk", "Dariusz")
    known = make_person("Krawczyk", "Dariusz", date(1980, 1, 1))
    assert ids(querier, last_name="Krawczyk", first_name="Dariusz",
               date_of_birth=date(1980, 1, 1)) == [known.pk, without.pk]


# --- Combined deviations: one case per kind --------------------------------------------------

COMBINED = [
    # phonetic respelling + date one day off
    (("Voigt", "Michael", date(1975, 3, 14)),
     {"last_name": "Vogt", "first_name": "Michael", "date_of_birth": date(1975, 3, 15)}),
    # phonetic respelling + day and month swapped
    (("Seidel", "Andreas", date(1982, 4, 9)),
     {"last_name": "Seydel", "first_name": "Andreas", "date_of_birth": date(1982, 9, 4)}),
    # typo (two letters swapped) + one wrong date digit
    (("Hartung", "Sabine", date(1968, 11, 23)),
     {"last_name": "Hartnug", "first_name": "Sabine", "date_of_birth": date(1968, 11, 28)}),
    # transliterated surname and first name at once, with and without a date
    (("Abu-Khalil", "Yousef", date(1990, 2, 1)),
     {"last_name": "Abukhalil", "first_name": "Youssef", "date_of_birth": date(1990, 2, 1)}),
    (("Abu-Khalil", "Yousef", date(1990, 2, 1)),
     {"last_name": "Abukhalil", "first_name": "Youssef"}),
    # particle written as one word, both ways, and left out
    (("van der Linden", "Pieter", date(1971, 6, 30)),
     {"last_name": "Vanderlinden", "first_name": "Pieter", "date_of_birth": date(1971, 6, 30)}),
    (("Vanderlinden", "Pieter", date(1971, 6, 30)),
     {"last_name": "van der Linden", "first_name": "Pieter"}),
    (("Vanderlinden", "Pieter", date(1971, 6, 30)),
     {"last_name": "Linden", "first_name": "Pieter", "date_of_birth": date(1971, 6, 30)}),
    # one-letter deletion in a short name, no date on either side
    (("Brandt", "Jens", None), {"last_name": "Bradt", "first_name": "Jens"}),
    # given-name equivalent (as data) + transliterated surname, date exact
    (("Wiśniewski", "Wojciech", date(1977, 10, 5)),
     {"last_name": "Wisniewsky", "first_name": "Voytek", "date_of_birth": date(1977, 10, 5)}),
    # Cyrillic transliterations of both names, date one digit off
    (("Schewtschenko", "Oleksandr", date(1966, 5, 21)),
     {"last_name": "Shevchenko", "first_name": "Aleksandr", "date_of_birth": date(1966, 5, 27)}),
]


@pytest.mark.parametrize(("registered", "query"), COMBINED,
                         ids=[f"{r[0]}-{q['last_name']}" for r, q in COMBINED])
def test_combined_deviations_find_the_person(querier, registered, query):  # noqa: F811
    make_person("Meier", "Thomas", date(1975, 6, 1))  # somebody else
    person = make_person(*registered)
    result = lookup.lookup_person(querier, PURPOSE, **query)
    assert [c["entry_id"] for c in result["candidates"]] == [person.pk], query
    card = result["candidates"][0]
    assert card["score"] >= matching.SCORE_FLOOR
    assert matching.match_level(card["score"]) in ("sicher", "wahrscheinlich", "möglich")


def test_birth_name_with_a_date(querier):  # noqa: F811
    person = make_person("Schneider", "Monika", date(1965, 8, 17), birth_name="Kowalski")
    assert ids(querier, last_name="Kowalski", date_of_birth=date(1965, 8, 17)) == [person.pk]
    # birth name respelled + date one day off
    assert ids(querier, last_name="Kowalsky", first_name="Monika",
               date_of_birth=date(1965, 8, 18)) == [person.pk]


def test_the_explanation_names_what_agrees_and_what_differs(querier):  # noqa: F811
    make_person("Voigt", "Michael", date(1975, 3, 14))
    card = lookup.lookup_person(querier, PURPOSE, "Vogt", "Michael",
                                date(1975, 3, 15))["candidates"][0]
    text = matching.explain(card["match"])
    assert "Name: phonetisch (vogt/voigt)" in text
    assert "Geburtsdatum: wenige Tage abweichend" in text


# --- Precision: a clearly different person is not shown --------------------------------------

NEGATIVE = [
    # namesakes: same names, another date of birth
    (("Krawczyk", "Dariusz", date(1980, 1, 1)),
     {"last_name": "Krawczyk", "first_name": "Dariusz", "date_of_birth": date(1962, 7, 19)}),
    # different surnames sharing a phonetic code, another date of birth
    (("Möller", "Thomas", date(1950, 2, 2)),
     {"last_name": "Müller", "first_name": "Thomas", "date_of_birth": date(1988, 10, 30)}),
    (("Vogt", "Michael", date(1990, 1, 1)),
     {"last_name": "Voigt", "first_name": "Michael", "date_of_birth": date(1975, 3, 14)}),
    # a one-letter neighbour with another date
    (("Brand", "Jens", date(1960, 1, 1)),
     {"last_name": "Brandt", "first_name": "Jens", "date_of_birth": date(1985, 5, 5)}),
    # same first name and date of birth, a surname that resembles nothing
    (("Schmidt", "Thomas", date(1975, 6, 1)),
     {"last_name": "Wagner", "first_name": "Thomas", "date_of_birth": date(1975, 6, 1)}),
    # another first name, no date on either side
    (("Krawczyk", "Dariusz", None), {"last_name": "Krawczyk", "first_name": "Anna"}),
]


@pytest.mark.parametrize(("registered", "query"), NEGATIVE,
                         ids=[f"{r[0]}-{q['last_name']}" for r, q in NEGATIVE])
def test_a_different_person_is_not_shown(querier, registered, query):  # noqa: F811
    make_person(*registered)
    assert ids(querier, **query) == [], query


def test_the_person_ranks_above_a_namesake_with_another_date(querier):  # noqa: F811
    make_person("Vogt", "Michael", date(1990, 1, 1))
    voigt = make_person("Voigt", "Michael", date(1975, 3, 14))
    assert ids(querier, last_name="Vogt", first_name="Michael",
               date_of_birth=date(1975, 3, 15)) == [voigt.pk]


def test_candidates_come_from_keys_not_a_scan(querier):  # noqa: F811
    # Two corrupted fields (surname typo that changes the phonetic code, and no date): the
    # deletion-neighbourhood pass still reaches the person by an exact key.
    person = make_person("Brandt", "Jens")
    keys = matching.query_keys(matching.Query("Bradt", "Jens"))
    assert "nx" in keys
    assert person.pk in lookup.candidate_ids({"nx": keys["nx"]})
    assert person.pk not in lookup.candidate_ids({"nn": keys["nn"]})


def test_rebuild_search_keys_command_adds_new_key_kinds(querier):  # noqa: F811
    from io import StringIO

    from django.core.management import call_command

    from beistand.register.models import SearchKey

    person = make_person("Brandt", "Jens", address=("Ringstraße", "1", "50667"))
    gone = make_person("Brandt", "Jens")
    with transaction.atomic():
        gone.merged_into = person
        gone.save()
    # Keys as an older version wrote them: no one-typo neighbourhood.
    SearchKey.objects.filter(kind="nx").delete()
    assert ids(querier, last_name="Bradt", first_name="Jens") == []
    out = StringIO()
    call_command("rebuild_search_keys", stdout=out, stderr=StringIO())
    assert "von 1 Personen" in out.getvalue()
    assert not SearchKey.objects.filter(person=gone).exists()
    assert SearchKey.objects.filter(person=person, kind="adh").exists()
    assert ids(querier, last_name="Bradt", first_name="Jens") == [person.pk]
