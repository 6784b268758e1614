"""Matching engine: normalisation, Kölner Phonetik, keys and scoring."""

from datetime import date

import pytest

from beistand.register import matching
from beistand.register.matching import Identity, Query, cologne, name_parts


@pytest.mark.parametrize(("word", "code"), [
    # The two worked examples of the published rules (Postel 1969, as given on Wikipedia).
    ("Wikipedia", "3412"),
    ("Müller-Lüdenscheidt", "65752682"),
    ("Breschnew", "17863"),
])
def test_cologne_published_examples(word, code):
    assert cologne(word) == code


@pytest.mark.parametrize("group", [
    ["Meier", "Mayer", "Maier", "Meyer"],
    ["Müller", "Mueller", "Muller", "MÜLLER"],
    ["Schmidt", "Schmitt", "Schmid"],
    ["Yılmaz", "Yilmaz", "YILMAZ"],
    ["Schewtschenko", "Schewtschenko"],
    ["Hoffmann", "Hofmann"],
])
def test_cologne_groups(group):
    assert len({cologne(w) for w in group}) == 1


def test_cologne_c_and_x_rules():
    assert cologne("Cäsar") == "487"      # initial C before A: 4
    assert cologne("Celle") == "85"       # initial C before E: 8
    assert cologne("Axel") == "0485"      # X not after C/K/Q: 48
    assert cologne("Sachs") == "848"      # C after A before H: 4; S 8
    assert cologne("Philipp") == "351"    # PH: 3
    assert cologne("") == ""


def test_normalisation():
    assert name_parts("von der Heide") == ["heide"]
    assert name_parts("Yılmaz") == ["yilmaz"]
    assert name_parts("Müller-Lüdenscheidt") == ["mueller", "luedenscheidt"]
    assert name_parts("Müller", umlaut_e=False) == ["muller"]
    assert name_parts("Strauß") == ["strauss"]
    assert name_parts("Łukasz Wałęsa") == ["lukasz", "walesa"]
    assert name_parts("Çelik") == ["celik"]
    assert name_parts("De") == ["de"]  # a name made only of a particle stays a name
    assert matching.part_variants("Müller") == {"mueller", "muller"}


def test_street_normalisation():
    for s in ["Hauptstraße", "Haupt-Str.", "hauptstrasse", "Hauptstr"]:
        assert matching.normalise_street(s) == "hauptstr"


def test_date_variants_and_agreement():
    d = date(1980, 3, 5)
    variants = matching.date_variants(d)
    assert "19800305" in variants and "19800503" in variants  # swapped day/month
    assert "19810305" in variants and "19800306" in variants   # one digit
    assert "19800332" not in variants                          # impossible date dropped
    assert matching.date_agreement(d, d)[0] == 1.0
    assert matching.date_agreement(d, date(1980, 5, 3))[1] == "Tag und Monat vertauscht"
    assert matching.date_agreement(d, date(1981, 3, 5))[1] == "eine Ziffer abweichend"
    assert matching.date_agreement(d, date(1980, 11, 22))[1] == "nur Geburtsjahr"
    assert matching.date_agreement(d, date(1975, 11, 22))[0] == 0.0


def _keys(**kw):
    return matching.person_keys(Identity(**kw))


def test_person_keys_combine_two_facts():
    keys = _keys(last_name="von der Heide-Müller", first_names="Anna Maria",
                 date_of_birth=date(1980, 3, 5),
                 addresses=[("Hauptstraße", "12a", "50667")])
    kinds = {k for k, _ in keys}
    assert kinds == {"nn", "nx", "ny", "nd", "di", "sn", "na", "adr", "adh"}
    assert ("ny", "heide|ann") in keys  # surname x first letters of a given name
    assert ("di", "19800305|m") in keys  # date of birth x an initial
    assert {("sn", "mueller"), ("sn", "muller"), ("sn", "heide")} <= keys  # counted surnames
    assert ("nn", f"{cologne('Heide')}|{cologne('Anna')}") in keys
    assert ("nd", f"{cologne('Mueller')}|19800305") in keys
    assert ("adh", "hauptstr|50667|12a") in keys
    assert ("na", f"{cologne('Heide')}|50667") in keys
    assert all(not v.startswith("von") for _, v in keys)


def test_query_keys_meet_person_keys_for_variants():
    person = _keys(last_name="Müller", first_names="Hans", birth_name="Yılmaz",
                   date_of_birth=date(1980, 3, 5))
    for q in [Query("Mueller", "Hans"), Query("Hans", "Muller"),  # swapped
              Query("Yilmaz", date_of_birth=date(1980, 5, 3)),     # birth name, swapped date
              Query("Muller", date_of_birth=date(1981, 3, 5))]:    # one digit off
        probes = {(k, v) for k, vs in matching.query_keys(q).items() for v in vs}
        assert probes & person, q


def test_score_ranks_and_floor():
    c = Identity("Meier", "Thomas", date_of_birth=date(1975, 6, 1))
    exact, match = matching.score(Query("Meier", "Thomas", date(1975, 6, 1)), c)
    assert exact == 1.0
    assert {m["field"] for m in match} == {"last_name", "first_name", "date_of_birth"}
    variant, _ = matching.score(Query("Mayer", "Tomas", date(1975, 1, 6)), c)
    assert matching.SCORE_FLOOR < variant < exact
    swapped, match = matching.score(Query("Thomas", "Meier", date(1975, 6, 1)), c)
    assert swapped >= matching.SCORE_FLOOR and "vertauscht" in match[0]["how"]
    # Two fuzzy agreements (typo-level surname and a tolerant date): below the floor.
    assert matching.score(Query("Bauer", "Thomas", date(1975, 6, 2)),
                          Identity("Sauer", "Thomas", date_of_birth=date(1975, 6, 1)))[0] \
        < matching.SCORE_FLOOR
    # Same surname, other first name and an unrelated date of birth: below the floor.
    other, _ = matching.score(Query("Meier", "Anna", date(1990, 1, 1)), c)
    assert other < matching.SCORE_FLOOR
