"""Look-up service: spelling variants, never restricted/deleted, bad input, access log."""

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from beistand.core.errors import AccessDenied, InvalidInput, NotFound
from beistand.register import lookup
from beistand.register.models import (
    Lookup,
    ProtectiveMeasure,
    RegisterAddress,
    RegisterEntry,
    RegisterPerson,
    SearchKey,
)
from beistand.register.services import refresh_person
from beistand.reports import services as reports
from beistand.reports.services import PerpetratorInput
from tests.reports.conftest import cast, report_input  # noqa: F401 (fixture)

PURPOSE = "Az. 32/1-2026-17, Hausbesuch"


def make_person(last_name, first_names="", dob=None, birth_name="", aliases=(), address=None,
                status=RegisterPerson.Status.ACTIVE, level=2):
    with transaction.atomic():
        person = RegisterPerson.objects.create(
            last_name=last_name, first_names=first_names, birth_name=birth_name,
            aliases=list(aliases), date_of_birth=dob, status=status)
        if address:
            RegisterAddress.objects.create(person=person, street=address[0],
                                           house_number=address[1], postal_code=address[2])
        RegisterEntry.objects.create(person=person, source=RegisterEntry.Source.IMPORT,
                                     hazard_level=level, incident_date=date(2026, 1, 10))
        refresh_person(person)
    return person


@pytest.fixture
def querier(make_user, org):
    return make_user("abfrage", roles=[Role.QUERIER], unit=org["amt32"],
                     expires_at=timezone.now() + timedelta(days=30))


@pytest.fixture
def published(cast):  # noqa: F811
    """Ali-Murat Yılmaz-Müller, née von der Heide, alias "Ali Demir", published by the workflow."""
    perpetrator = PerpetratorInput(
        last_name="Yılmaz-Müller", first_names="Ali Murat", birth_name="von der Heide",
        aliases=["Ali Demir"], date_of_birth=date(1984, 7, 12), street="Hauptstraße",
        house_number="12a", postal_code="50667", city="Köln")
    report = reports.create_report(cast["melder"], report_input(
        offences=("threat",), perpetrators=[perpetrator]), submit=True)
    reports.transition(cast["chefin"], report.pk, "release")
    reports.transition(cast["personal"], report.pk, "file_complaint",
                       {"police_file_number": "KK11-2026-0815",
                        "complaint_date": timezone.localdate().isoformat()})
    reports.transition(cast["zks"], report.pk, "publish", {"comment": "geprüft"})
    person = RegisterEntry.objects.get(report=report).person
    person.measures.set([ProtectiveMeasure.objects.order_by("sort").first()])
    return person


VARIANTS = [
    {"last_name": "Yilmaz", "first_name": "Ali"},                              # ı → i
    {"last_name": "Mueller", "date_of_birth": date(1984, 7, 12)},               # ü → ue, part
    {"last_name": "Muller", "first_name": "Murat"},                             # ü → u
    {"last_name": "Ali", "first_name": "Yilmaz", "date_of_birth": date(1984, 7, 12)},  # swapped
    {"last_name": "Yilmaz", "first_name": "Ali", "date_of_birth": date(1984, 7, 13)},  # 1 digit
    {"last_name": "Yilmas", "first_name": "Ali", "date_of_birth": date(1984, 12, 7)},  # d/m swap
    {"last_name": "Heide", "first_name": "Ali"},                 # birth name without "von der"
    {"last_name": "Demir", "date_of_birth": date(1984, 7, 12)},                 # alias
    {"last_name": "Yilmaz Müller", "street": "Hauptstr.", "postal_code": "50667"},  # address
    {"last_name": "Mylmaz", "first_name": "Ali", "date_of_birth": date(1984, 7, 12)},  # typo
]


@pytest.mark.parametrize("variant", VARIANTS, ids=[str(v) for v in VARIANTS])
def test_published_person_is_found_under_spelling_variants(querier, published, variant):
    result = lookup.lookup_person(querier, PURPOSE, **variant)
    ids = [c["entry_id"] for c in result["candidates"]]
    assert ids[:1] == [published.pk], variant
    best = result["candidates"][0]
    assert best["hazard_level"] == 2 and best["measures"]
    assert best["score"] >= 0.5 and best["match"][0]["field"] == "last_name"


def test_meier_mayer(querier):
    person = make_person("Meier", "Thomas", date(1975, 6, 1))
    for name in ("Mayer", "Maier", "Meyer"):
        result = lookup.lookup_person(querier, PURPOSE, name, "Thomas")
        assert [c["entry_id"] for c in result["candidates"]] == [person.pk]


@pytest.mark.parametrize("query", [
    {"last_name": "Schneider", "first_name": "Anna"},
    {"last_name": "Yilmaz", "first_name": "Fatma", "date_of_birth": date(1990, 1, 1)},
    {"last_name": "Becker", "date_of_birth": date(1984, 7, 12)},
    {"last_name": "Wagner", "street": "Hauptstraße", "postal_code": "50667"},
])
def test_unrelated_names_show_nothing(querier, published, query):
    make_person("Meier", "Thomas", date(1975, 6, 1))
    assert lookup.lookup_person(querier, PURPOSE, **query)["candidates"] == []


def test_fuzzy_agreement_needs_enough_other_data(querier, published):
    # Surname plus a date one digit off is too weak to identify anybody; with the first name too
    # it is a hit.
    weak = lookup.lookup_person(querier, PURPOSE, "Yilmaz", date_of_birth=date(1984, 7, 13))
    assert weak["candidates"] == []
    # Same name, but a date of birth beyond the tolerance (other day and month): not shown.
    other = lookup.lookup_person(querier, PURPOSE, "Yilmaz", "Ali", date(1984, 3, 2))
    assert other["candidates"] == []


def test_restricted_deleted_and_merged_are_never_shown(querier):
    restricted = make_person("Schulz", "Karl", date(1970, 1, 1),
                             status=RegisterPerson.Status.RESTRICTED)
    deleted = make_person("Schulz", "Karl", date(1970, 1, 1),
                          status=RegisterPerson.Status.DELETED)
    assert SearchKey.objects.filter(person=restricted).exists()  # kept, filtered at look-up
    assert not SearchKey.objects.filter(person=deleted).exists()
    result = lookup.lookup_person(querier, PURPOSE, "Schulz", "Karl", date(1970, 1, 1))
    assert result["candidates"] == []
    active = make_person("Schulz", "Karl", date(1970, 1, 1))
    target = make_person("Schultz", "Karl", date(1970, 1, 1))
    with transaction.atomic():
        active.merged_into = target
        active.save()
    ids = [c["entry_id"] for c in
           lookup.lookup_person(querier, PURPOSE, "Schulz", "Karl", date(1970, 1, 1))["candidates"]]
    assert ids == [target.pk]


def test_address_lookup(querier, published):
    make_person("Meier", "Thomas", address=("Ringstraße", "1", "50667"))
    result = lookup.lookup_address(querier, PURPOSE, "Haupt-Str.", "50667", "12 a")
    assert [c["entry_id"] for c in result["candidates"]] == [published.pk]
    result = lookup.lookup_address(querier, PURPOSE, "Hauptstrasse", "50667")
    assert [c["entry_id"] for c in result["candidates"]] == [published.pk]
    assert lookup.lookup_address(querier, PURPOSE, "Hauptstraße", "50668")["candidates"] == []
    assert Lookup.objects.filter(kind="address").count() == 3


def test_each_lookup_writes_one_log_row_and_one_audit_row_without_personal_data(
        querier, published):
    before = AuditEvent.objects.count()
    result = lookup.lookup_person(querier, PURPOSE, "Yilmaz", "Ali")
    entry = Lookup.objects.get()
    assert entry.pk == result["id"] and entry.kind == "person"
    assert entry.querier == querier and entry.unit_code == "32" and entry.purpose == PURPOSE
    assert entry.query == {"last_name": "Yilmaz", "first_name": "Ali"}
    assert entry.shown == [published.pk]
    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert [e.action for e in events] == ["register.lookup"]
    event = events[0]
    assert event.object_type == "register.lookup" and event.object_id == str(entry.pk)
    assert event.purpose == PURPOSE
    text = " ".join(str(v) for v in vars(event).values()).lower()
    assert "yilmaz" not in text and "ali " not in text and "1984" not in text


def test_detail_is_a_second_logged_click(querier, published, make_user):
    result = lookup.lookup_person(querier, PURPOSE, "Yilmaz", "Ali")
    detail = lookup.lookup_detail(querier, result["id"], published.pk)
    assert detail["incidents"][0]["offences"] and detail["incidents"][0]["hazard_level"] == 2
    log = Lookup.objects.get(pk=detail["id"])
    assert log.kind == "detail" and log.parent_id == result["id"] and log.shown == [published.pk]
    assert log.purpose == PURPOSE
    other = make_person("Meier", "Thomas", date(1975, 6, 1))
    with pytest.raises(NotFound):  # not shown in that look-up
        lookup.lookup_detail(querier, result["id"], other.pk)
    colleague = make_user("kollege", roles=[Role.QUERIER],
                          expires_at=timezone.now() + timedelta(days=1))
    with pytest.raises(NotFound):  # somebody else's look-up
        lookup.lookup_detail(colleague, result["id"], published.pk)
    assert Lookup.objects.count() == 2


def _nothing_written(before):
    assert Lookup.objects.count() == 0
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"purpose": "", "last_name": "Yilmaz", "first_name": "Ali"}, "purpose"),
    ({"purpose": "abc", "last_name": "Yilmaz", "first_name": "Ali"}, "purpose"),
    ({"purpose": PURPOSE, "last_name": "Yilmaz"}, "first_name"),
    ({"purpose": PURPOSE, "last_name": "", "first_name": "Ali"}, "last_name"),
    ({"purpose": PURPOSE, "last_name": "Yil*", "first_name": "Ali"}, "last_name"),
    ({"purpose": PURPOSE, "last_name": "%", "first_name": "Ali"}, "last_name"),
    ({"purpose": PURPOSE, "last_name": "Yilmaz", "first_name": "A_i"}, "first_name"),
    ({"purpose": PURPOSE, "last_name": "Y", "first_name": "Ali"}, "last_name"),
    ({"purpose": PURPOSE, "last_name": "Yilmaz", "date_of_birth": "1984-13-45"},
     "date_of_birth"),
    ({"purpose": PURPOSE, "last_name": "Yilmaz", "date_of_birth": "12.07.1984"},
     "date_of_birth"),
    ({"purpose": PURPOSE, "last_name": "Yilmaz", "date_of_birth": "2999-01-01"},
     "date_of_birth"),
    ({"purpose": PURPOSE, "last_name": "Yilmaz", "street": "Hauptstr."}, "postal_code"),
    ({"purpose": PURPOSE, "last_name": "Yilmaz", "street": "Hauptstr.", "postal_code": "5066"},
     "postal_code"),
])
def test_bad_input_is_refused_and_nothing_written(querier, published, kwargs, field):
    before = AuditEvent.objects.count()
    with pytest.raises(InvalidInput) as exc:
        lookup.lookup_person(querier, **kwargs)
    assert exc.value.field == field and exc.value.detail
    _nothing_written(before)


def test_address_lookup_bad_input(querier):
    before = AuditEvent.objects.count()
    for args in [("Haupt*", "50667"), ("Hauptstraße", ""), ("Hauptstraße", "abcde"),
                 ("H", "50667")]:
        with pytest.raises(InvalidInput):
            lookup.lookup_address(querier, PURPOSE, *args)
    _nothing_written(before)


def test_only_active_querier_grants_may_look_up(make_user, org, published):
    expired = make_user("abgelaufen", roles=[Role.QUERIER],
                        expires_at=timezone.now() - timedelta(days=1))
    stats = make_user("statistik", roles=[Role.STATISTICS])
    zks = make_user("zks2", roles=[Role.ZKS])
    nobody = make_user("niemand")
    before = AuditEvent.objects.count()
    for user in (expired, stats, zks, nobody):
        with pytest.raises(AccessDenied):
            lookup.lookup_person(user, PURPOSE, "Yilmaz", "Ali")
        with pytest.raises(AccessDenied):
            lookup.lookup_address(user, PURPOSE, "Hauptstraße", "50667")
    _nothing_written(before)
