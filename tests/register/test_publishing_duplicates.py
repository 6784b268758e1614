"""Publishing uses the look-up's matcher: the same person (names and date of birth or address
agree exactly) is found again; a spelling variant or a namesake without a date becomes a new
person that the ZKS is shown as possibly already registered."""

from datetime import date

import pytest
from django.utils import timezone

from beistand.register.models import RegisterEntry, RegisterPerson
from beistand.register.persons import find_person, similar_persons
from beistand.register.publishing import case_summary_section, possible_duplicates
from beistand.reports import services as reports
from beistand.reports.services import PerpetratorInput
from tests.register.test_lookup import make_person
from tests.reports.conftest import cast, report_input  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def publish(cast, **perpetrator):  # noqa: F811
    report = reports.create_report(cast["melder"], report_input(
        offences=("threat",), perpetrators=[PerpetratorInput(**perpetrator)]), submit=True)
    reports.transition(cast["chefin"], report.pk, "release")
    reports.transition(cast["personal"], report.pk, "file_complaint",
                       {"police_file_number": "KK11-2026-0815",
                        "complaint_date": timezone.localdate().isoformat()})
    reports.transition(cast["zks"], report.pk, "publish", {"comment": "geprüft"})
    return report, RegisterEntry.objects.get(report=report).person


def test_same_names_and_date_are_the_same_person(cast):  # noqa: F811
    known = make_person("Krawczyk", "Dariusz", date(1980, 1, 1))
    _, person = publish(cast, last_name="Krawczyk", first_names="Dariusz",
                        date_of_birth=date(1980, 1, 1))
    assert person == known


def test_spelling_variant_is_a_new_person_shown_to_the_zks(cast):  # noqa: F811
    known = make_person("Voigt", "Michael", date(1975, 3, 14))
    report, person = publish(cast, last_name="Vogt", first_names="Michael",
                             date_of_birth=date(1975, 3, 14))
    assert person != known
    found = possible_duplicates(person)
    assert [d["person_id"] for d in found] == [known.pk]
    assert found[0]["level"] in ("sicher", "wahrscheinlich", "möglich")
    assert "Name: phonetisch (vogt/voigt)" in found[0]["explanation"]
    text = repr(case_summary_section(None, report=report))
    assert "Möglicherweise bereits registriert" in text and f"Nr. {known.pk}" in text


def test_namesakes_without_date_at_different_addresses_are_not_merged(cast):  # noqa: F811
    first = make_person("Müller", "Stefan", address=("Ringstraße", "1", "50667"))
    _, person = publish(cast, last_name="Müller", first_names="Stefan", street="Kantstraße",
                        house_number="5", postal_code="50825", city="Köln")
    assert person != first
    assert RegisterPerson.objects.filter(last_name="Müller").count() == 2
    assert [d["person_id"] for d in possible_duplicates(person)] == [first.pk]


def test_same_names_without_date_at_the_same_address_are_the_same_person(cast):  # noqa: F811
    known = make_person("Müller", "Stefan", address=("Ringstraße", "1", "50667"))
    _, person = publish(cast, last_name="Müller", first_names="Stefan", street="Ringstraße",
                        house_number="1", postal_code="50667", city="Köln")
    assert person == known


def test_names_alone_never_decide(db):
    make_person("Müller", "Stefan")
    p = PerpetratorInput(last_name="Müller", first_names="Stefan")
    assert find_person(p) is None
    assert len(similar_persons(p)) == 1
