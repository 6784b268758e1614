"""Surname frequencies (term-frequency adjustment) and the passes for sparse register entries."""

from datetime import date

import pytest

from beistand.register import lookup, matching
from beistand.register.matching import Frequencies, Identity, Query
from tests.register.test_lookup import PURPOSE, make_person, querier  # noqa: F401 (fixture)

N = 100_000
FREQ = Frequencies({"krawczyk": 1, "mueller": 600, "muller": 600, "voigt": 2}, N)


def test_a_rare_surname_weighs_more_than_mueller():
    rare = matching.assess(Query("Krawczyk", "Dariusz"), Identity("Krawczyk", "Dariusz"), FREQ)
    common = matching.assess(Query("Müller", "Dariusz"), Identity("Müller", "Dariusz"), FREQ)
    fixed = matching.assess(Query("Müller", "Dariusz"), Identity("Müller", "Dariusz"))
    assert rare.weight > fixed.weight > common.weight


def test_a_rare_surname_alone_in_the_register_is_shown_a_frequent_one_is_not(settings):
    q = {"first_name": "Dariusz", "date_of_birth": date(1980, 1, 1)}
    rare = matching.assess(Query("Krawczyk", **q), Identity("Krawczyk"), FREQ)
    common = matching.assess(Query("Müller", **q), Identity("Müller"), FREQ)
    assert matching.match_level(rare.score) != ""
    assert matching.match_level(common.score) == ""
    # ... but a disagreeing first name still hides the rare name.
    other = matching.assess(Query("Krawczyk", "Anna", date(1980, 1, 1)),
                            Identity("Krawczyk", "Dariusz"), FREQ)
    assert matching.match_level(other.score) == ""


def test_a_respelling_of_a_rare_name_weighs_more():
    rare = matching.assess(Query("Vogt", "Michael"), Identity("Voigt", "Michael"), FREQ)
    plain = matching.assess(Query("Vogt", "Michael"), Identity("Voigt", "Michael"))
    assert rare.weight > plain.weight


def test_the_shown_threshold_is_a_setting(settings):
    a = matching.assess(Query("Bradt", "Jens"), Identity("Brandt", "Jens"))
    assert matching.match_level(a.score) == "möglich"
    settings.MATCH_SHOWN = 0.9
    assert matching.match_level(a.score) == ""


@pytest.mark.django_db
def test_an_entry_with_a_surname_only_is_reached_by_its_own_pass(querier):  # noqa: F811
    person = make_person("Krawczyk")  # no first name, no date of birth
    keys = matching.query_keys(Query("Krawczyk", "Dariusz", date(1980, 1, 1)))
    assert person.pk in lookup.candidate_ids({"n0": keys["n0"]})
    # A frequent surname is not probed alone.
    keys = matching.query_keys(Query("Krawczyk", "Dariusz"), frequent=frozenset({"krawczyk"}))
    assert "n0" not in keys


@pytest.mark.django_db
def test_a_mistyped_first_name_without_date_is_reached(querier):  # noqa: F811
    person = make_person("Oberdieck", "Andreas")
    keys = matching.query_keys(Query("Oberdieck", "Andraes"))
    assert person.pk in lookup.candidate_ids({"ny": keys["ny"]})
    assert [c["entry_id"] for c in lookup.lookup_person(
        querier, PURPOSE, "Oberdieck", "Andraes")["candidates"]] == [person.pk]


@pytest.mark.django_db
def test_a_mistyped_surname_with_date_and_without_first_name_is_reached(querier):  # noqa: F811
    person = make_person("Tönnieskamp", "Monika", date(1958, 5, 22))
    keys = matching.query_keys(Query("Tönieskamp", date_of_birth=date(1958, 5, 22)))
    assert person.pk in lookup.candidate_ids({"di": keys["di"]})


def test_a_rare_namesake_with_another_date_is_not_shown_unless_the_address_agrees():
    registered = Identity("Krawczyk", "Dariusz", date_of_birth=date(1962, 7, 19),
                          addresses=[("Ringstraße", "1", "50667")])
    other_date = matching.assess(Query("Krawczyk", "Dariusz", date(1980, 1, 1)), registered, FREQ)
    assert matching.match_level(other_date.score) == ""
    at_home = matching.assess(Query("Krawczyk", "Dariusz", date(1980, 1, 1), "Ringstr.", "1",
                                    "50667"), registered, FREQ)
    assert matching.match_level(at_home.score) != ""
