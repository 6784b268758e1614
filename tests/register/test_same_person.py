"""Issue 15: the ZKS sees, on a person's page, the persons the look-up's matcher finds alike and
chooses "dieselbe Person" (merge) or "andere Person" (not offered again) — never an automatic
merge."""

from datetime import date

import pytest

from beistand.audit.models import AuditEvent
from beistand.core.errors import Conflict, InvalidInput
from beistand.register import services as register
from beistand.register.models import DistinctPersons, RegisterPerson
from beistand.register.publishing import possible_duplicates
from tests.register.test_lookup import make_person
from tests.register.test_publishing_duplicates import publish
from tests.register.test_views import MANAGE, login, users  # noqa: F401 (fixture)
from tests.reports.conftest import cast, report_input  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def _page(client, person):
    return client.get(f"{MANAGE}personen/{person.pk}/").content.decode()


def test_the_page_offers_the_alike_person_and_merging_is_the_zks_choice(client, users):  # noqa: F811
    voigt = make_person("Voigt", "Philipp", date(1980, 3, 12))
    vogt = make_person("Vogt", "Philipp", date(1980, 3, 12))
    make_person("Nowak", "Anna", date(1990, 1, 1))
    login(client, users["zks"])
    page = _page(client, voigt)
    assert "Möglicherweise dieselbe Person" in page
    assert f"Register-Nr. {vogt.pk}" in page and "Nowak" not in page
    assert "Dieselbe Person – zusammenführen" in page and "Andere Person" in page
    # Nothing was merged by looking.
    assert RegisterPerson.objects.get(pk=vogt.pk).status == RegisterPerson.Status.ACTIVE
    (read,) = AuditEvent.objects.filter(action="register.registerperson.read")
    assert read.after["same_persons"] == [vogt.pk]

    client.post(f"{MANAGE}personen/{voigt.pk}/aktion/",
                {"action": "merge", "other": vogt.pk, "reason": "gleiche Person, Akte 4711"})
    vogt.refresh_from_db()
    assert vogt.merged_into_id == voigt.pk and vogt.status == RegisterPerson.Status.DELETED
    assert "Möglicherweise dieselbe Person" not in _page(client, voigt)


def test_another_person_is_not_offered_again(client, users):  # noqa: F811
    a = make_person("Müller", "Stefan", date(1970, 5, 1))
    b = make_person("Müller", "Stefan", date(1970, 5, 2))
    login(client, users["zks"])
    assert f"Register-Nr. {b.pk}" in _page(client, a)
    response = client.post(f"{MANAGE}personen/{b.pk}/aktion/",
                           {"action": "distinct", "other": a.pk, "reason": "Zwillinge"})
    assert response.status_code == 302
    assert DistinctPersons.objects.filter(person_a=a, person_b=b).exists()
    assert "Möglicherweise dieselbe Person" not in _page(client, a)
    assert "Möglicherweise dieselbe Person" not in _page(client, b)
    (event,) = AuditEvent.objects.filter(action="register.person.distinct")
    assert event.purpose == "Zwillinge" and event.after == {"distinct_from": b.pk}
    # Both persons stay, with their entries.
    assert RegisterPerson.objects.filter(pk__in=[a.pk, b.pk], status="active").count() == 2


def test_bad_choices_change_nothing(users):  # noqa: F811
    a = make_person("Müller", "Stefan", date(1970, 5, 1))
    b = make_person("Müller", "Stefan", date(1970, 5, 2))
    with pytest.raises(InvalidInput):
        register.mark_distinct(users["zks"], a.pk, a.pk, "x")
    with pytest.raises(InvalidInput):
        register.mark_distinct(users["zks"], a.pk, b.pk, "")
    register.mark_distinct(users["zks"], a.pk, b.pk, "verschieden")
    with pytest.raises(Conflict):
        register.mark_distinct(users["zks"], b.pk, a.pk, "noch einmal")
    assert DistinctPersons.objects.count() == 1


def test_publishing_lists_a_fuzzy_duplicate_that_the_new_person_itself_used_to_hide(cast):  # noqa: F811
    """The new person agrees with itself exactly; that must not trigger the precision rule
    that drops fuzzy candidates (it used to hide every duplicate below "sicher")."""
    known = make_person("Müller", "Stefan", date(1970, 5, 2))
    _, person = publish(cast, last_name="Müller", first_names="Stefan",
                        date_of_birth=date(1970, 5, 1))
    assert person != known
    assert [d["person_id"] for d in possible_duplicates(person)] == [known.pk]


def test_a_restricted_person_is_never_merged_back_into_look_ups(users):  # noqa: F811
    """Review finding: merging an acquitted (restricted) person into another made its entry
    visible to queriers again, without any "lift" in the trail."""
    active = make_person("Schneider", "Jan", date(1980, 1, 1))
    acquitted = make_person("Krause", "Jan", date(1981, 2, 2))
    register.record_case_outcome(users["zks"], outcome="acquittal", reason="Freispruch, Az. 1",
                                 person_id=acquitted.pk)
    for keep, merge in ((active, acquitted), (acquitted, active)):
        with pytest.raises(Conflict, match="eingeschränkte Person"):
            register.merge_persons(users["zks"], keep.pk, merge.pk, "Dublette")
    acquitted.refresh_from_db()
    assert acquitted.status == RegisterPerson.Status.RESTRICTED and acquitted.merged_into is None
