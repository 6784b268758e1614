"""Issue 15, "one matcher everywhere": the ZKS's search in its own register (which is also how a
rights request is matched to a person) uses the look-up's matcher, not the exact surname — a
request from "Voigt" finds the registered "Vogt"."""

from datetime import date

import pytest

from beistand.audit.models import AuditEvent
from beistand.core.errors import InvalidInput
from beistand.register import services as register
from beistand.register.models import RegisterPerson
from tests.register.test_lookup import make_person
from tests.register.test_views import MANAGE, login, users  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _ids(found):
    return [p.pk for p in found]


def test_a_surname_alone_finds_the_sound_alike_spelling(users):  # noqa: F811
    vogt = make_person("Vogt", "Philipp", date(1980, 3, 12))
    make_person("Nowak", "Philipp", date(1980, 3, 12))
    found = register.search_persons(users["zks"], "Voigt")
    assert _ids(found) == [vogt.pk]
    assert found[0].match_explanation == "Name: klingt gleich"


def test_name_and_date_find_combined_deviations_with_level_and_explanation(users):  # noqa: F811
    # A transposition in the surname and day and month swapped in the date of birth.
    hartung = make_person("Hartung", "Sabine", date(1975, 4, 11))
    make_person("Hartung", "Monika", date(1950, 1, 2))  # a namesake, far off
    found = register.search_persons(users["zks"], "Hartnug, Sabine, 04.11.1975")
    assert found[0].pk == hartung.pk
    assert found[0].match_level in ("möglich", "wahrscheinlich", "sicher")
    assert "vertauscht" in found[0].match_explanation


def test_given_name_first_and_restricted_persons_are_found_deleted_ones_not(users):  # noqa: F811
    restricted = make_person("Krawczyk", "Dariusz", status=RegisterPerson.Status.RESTRICTED)
    make_person("Krawczyk", "Dariusz", status=RegisterPerson.Status.DELETED)
    found = register.search_persons(users["zks"], "Dariusz Krawczyk")
    assert _ids(found) == [restricted.pk]


def test_a_person_without_date_of_birth_is_found_when_the_search_gives_one(users):  # noqa: F811
    krawczyk = make_person("Krawczyk", "Dariusz")
    assert _ids(register.search_persons(users["zks"], "Krawczyk, Dariusz, 1.2.1983")) == \
        [krawczyk.pk]


def test_a_wrong_date_is_refused_and_nothing_is_recorded(users):  # noqa: F811
    make_person("Vogt", "Philipp")
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as exc:
        register.search_persons(users["zks"], "Vogt, Philipp, 31.02.1980")
    assert "kein gültiges Datum" in exc.value.detail
    assert AuditEvent.objects.count() == before


def test_the_page_shows_level_and_explanation(client, users):  # noqa: F811
    make_person("Seidel", "Petra", date(1964, 11, 13))
    login(client, users["zks"])
    page = client.get(MANAGE, {"name": "Seydel, Petra, 13.11.1964"}).content.decode()
    assert "Seidel" in page and "Name: phonetisch" in page
    page = client.get(MANAGE, {"name": "Zzyzx"}).content.decode()
    assert "Niemand mit diesem oder einem ähnlich klingenden Namen im Register." in page
