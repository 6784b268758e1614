"""Rights of the registered person: the Art. 14 duty opened at publication, its letter, deferral
and reminder; the Art. 15 report; decisions on Art. 16/17/18/21 with letters. Real PDFs, read
back with pypdf."""

import io
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from pypdf import PdfReader

from beistand.accounts.roles import Role
from beistand.core.errors import AccessDenied, Conflict, InvalidInput, NotFound
from beistand.notify.models import OutgoingMail
from beistand.register import rights
from beistand.register.models import Lookup, RegisterPerson, RightsRequest
from beistand.reports import services as reports
from beistand.reports.services import PerpetratorInput, ReportInput

pytestmark = pytest.mark.django_db


def pdf_text(pdf: bytes) -> str:
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(value: str) -> str:
    return " ".join(value.split())


@pytest.fixture
def people(org, make_user):
    soon = timezone.now() + timedelta(days=30)
    return {
        "chefin": make_user("chefin", unit=org["abt"], head_of=org["abt"]),
        "reporter": make_user("reinhold", unit=org["abt"]),
        "personal": make_user("personal", roles=[Role.PERSONNEL], unit=org["amt11"]),
        "zks": make_user("zks", roles=[Role.ZKS], unit=org["zks"]),
        "dsb": make_user("dsb", roles=[Role.DPO], unit=org["amt11"]),
        "querier": make_user("quentin", roles=[Role.QUERIER], unit=org["abt"], expires_at=soon),
        "statistik": make_user("statistik", roles=[Role.STATISTICS], unit=org["zks"]),
        "org": org,
    }


@pytest.fixture
def publish(people):
    """publish(last_name=..., ...) -> the RegisterPerson created by the report workflow."""
    def make(last_name="Mustermann", first_names="Max", date_of_birth=date(1980, 4, 12)):
        data = ReportInput(
            occurred_at=timezone.now() - timedelta(hours=3), offences=["threat"],
            description="Der Kunde drohte, mich nach Dienstschluss abzufangen.",
            perpetrators=[PerpetratorInput(
                last_name=last_name, first_names=first_names, date_of_birth=date_of_birth,
                street="Hauptstraße", house_number="5", postal_code="50667", city="Köln")])
        report = reports.create_report(people["reporter"], data, submit=True)
        reports.transition(people["chefin"], report.pk, "release")
        reports.transition(people["personal"], report.pk, "file_complaint",
                           {"police_file_number": "KK11-2026-0815"})
        reports.transition(people["zks"], report.pk, "publish")
        return RegisterPerson.objects.get(last_name=last_name, first_names=first_names)
    return make


def notification(person) -> RightsRequest:
    return RightsRequest.objects.filter(person=person, kind=RightsRequest.Kind.NOTIFICATION
                                        ).order_by("pk").first()


# --- Dates --------------------------------------------------------------------------------------

@pytest.mark.parametrize("day, expected", [
    (date(2026, 1, 15), date(2026, 2, 15)),
    (date(2026, 1, 31), date(2026, 2, 28)),
    (date(2028, 1, 31), date(2028, 2, 29)),
    (date(2026, 12, 31), date(2027, 1, 31)),
    (date(2026, 3, 31), date(2026, 4, 30)),
])
def test_one_month_is_the_same_day_next_month_clamped(day, expected):
    assert rights.add_months(day) == expected


# --- Art. 14 ------------------------------------------------------------------------------------

def test_publication_opens_the_art14_duty_due_one_month_later(publish):
    person = publish()
    req = notification(person)
    today = timezone.localdate()
    assert req.state == RightsRequest.State.OPEN
    assert req.received_on == today
    assert req.due_on == rights.add_months(today)
    assert req.entry == person.entries.get()
    # Issue 17: a second incident about the same person is new data about them: its own
    # notification, about its own entry.
    publish()
    second = RightsRequest.objects.filter(person=person).exclude(pk=req.pk).get()
    assert second.kind == RightsRequest.Kind.NOTIFICATION and second.state == "open"
    assert second.entry != req.entry and second.entry.person == person
    assert "vom Vorfall am" in second.details


def test_art14_letter_names_person_address_legal_basis_dpo_and_retention(publish, people,
                                                                         settings):
    person = publish()
    req = notification(person)
    name, pdf = rights.letter_pdf(people["zks"], req.pk)
    assert name.endswith(".pdf")
    text = flat(pdf_text(pdf))
    assert "Max Mustermann" in text
    assert "Hauptstraße 5" in text and "50667 Köln" in text
    assert "Stadt Teststadt" in text                       # letterhead / controller
    assert "12.04.1980" in text
    assert "BSchG NRW" in text and "Art. 10 DSGVO" in text and "DSG NRW" in text
    assert "Art. 6 Abs. 1 Buchst. e DSGVO" in text
    assert "Test Dsb" in text and "dsb@teststadt.example" in text   # DPO contact
    assert f"{settings.REGISTER_REVIEW_YEARS} Jahre nach dem letzten Vorfall" in text
    assert f"{settings.REGISTER_DELETE_YEARS} Jahre lang keinen neuen Vorfall" in text
    assert person.delete_on.strftime("%d.%m.%Y") in text
    assert "LDI NRW" in text and "Art. 15 DSGVO" in text and "Art. 21 DSGVO" in text
    # Never reporter or other staff names.
    assert "Reinhold" not in text and "Chefin" not in text and "Zks" not in text
    rights.decide(people["zks"], req.pk, "done")
    req.refresh_from_db()
    assert req.state == RightsRequest.State.DONE and req.decided_by == people["zks"]


def test_dpo_contact_falls_back_to_the_dsb_unit(publish, people, org):
    from beistand.accounts.models import RoleGrant
    from beistand.organisation.models import OrgUnit

    person = publish()
    grant = RoleGrant.objects.get(user=people["dsb"], role=Role.DPO)
    with transaction.atomic():
        grant.revoked_at = timezone.now()
        grant.save()
        OrgUnit.objects.create(code="DSB", name="Datenschutz", kind="stabsstelle",
                               parent=org["dez"])
    _, pdf = rights.letter_pdf(people["zks"], notification(person).pk)
    assert "Datenschutz (DSB)" in flat(pdf_text(pdf))


def test_deferral_needs_reason_and_future_date_and_changes_nothing_otherwise(publish, people):
    req = notification(publish())
    zks = people["zks"]
    later = timezone.localdate() + timedelta(days=60)
    with pytest.raises(InvalidInput) as exc:
        rights.defer(zks, req.pk, "", later)
    assert exc.value.field == "reason"
    with pytest.raises(InvalidInput) as exc:
        rights.defer(zks, req.pk, "Laufende Ermittlungen der Polizei", None)
    assert exc.value.field == "defer_until"
    with pytest.raises(InvalidInput):
        rights.defer(zks, req.pk, "Laufende Ermittlungen der Polizei", timezone.localdate())
    with pytest.raises(InvalidInput):
        rights.defer(zks, req.pk, "Laufende Ermittlungen der Polizei", "31.12.2030")
    req.refresh_from_db()
    assert req.state == RightsRequest.State.OPEN and req.defer_until is None
    with pytest.raises(AccessDenied):
        rights.defer(people["dsb"], req.pk, "Laufende Ermittlungen der Polizei", later)
    rights.defer(zks, req.pk, "Laufende Ermittlungen der Polizei (DSG NRW § 11)", later)
    req.refresh_from_db()
    assert req.state == RightsRequest.State.DEFERRED and req.defer_until == later
    assert "Ermittlungen" in req.decision_reason


def test_reminder_after_the_recheck_date_mails_the_zks_once(publish, people, settings):
    settings.ZKS_MAILBOX = "zks-postfach@teststadt.example"
    req = notification(publish())
    until = timezone.localdate() + timedelta(days=10)
    rights.defer(people["zks"], req.pk, "Gefährdung der Ermittlungen der Polizei", until)
    assert rights.remind_deferred(timezone.now()) == []
    assert req not in rights.due_rights_requests(timezone.now())
    then = timezone.now() + timedelta(days=11)
    assert rights.remind_deferred(then) == [req.pk]
    mail = OutgoingMail.objects.get(reason__startswith=f"register:rights:{req.pk}:")
    assert mail.to == ["zks-postfach@teststadt.example"]
    assert "Wiedervorlage" in mail.subject and "Art. 14" in mail.body
    assert "Mustermann" not in mail.body + mail.subject     # no personal data in mails
    assert rights.remind_deferred(then) == []                # idempotent
    assert list(rights.due_rights_requests(then)) == [req]


def test_worker_housekeeping_sends_the_reminder(publish, people):
    from beistand.ops.worker import BeistandWorker

    req = notification(publish())
    rights.defer(people["zks"], req.pk, "Gefährdung der Ermittlungen der Polizei",
                 timezone.localdate() + timedelta(days=1))
    BeistandWorker().run_job("register.rights_reminders",
                             now=timezone.now() + timedelta(days=2))
    assert OutgoingMail.objects.filter(reason__startswith=f"register:rights:{req.pk}:").exists()


def test_open_request_past_its_deadline_is_due(publish):
    req = notification(publish())
    assert req not in rights.due_rights_requests(timezone.now())
    assert req in rights.due_rights_requests(timezone.now() + timedelta(days=32))


# --- Art. 15 ------------------------------------------------------------------------------------

def _lookups(person, people):
    querier = people["querier"]
    for unit, n in (("32/1", 3), ("11", 1)):
        for _ in range(n):
            Lookup.objects.create(kind="person", querier=querier,
                                  querier_label="Quentin, Test (32/1)", unit_code=unit,
                                  purpose="Az. 32-1/2026 Hausbesuch", shown=[person.pk])
    # Someone else entirely, and a lookup that showed another id containing the digits.
    Lookup.objects.create(kind="person", querier=querier, querier_label="Quentin, Test",
                          unit_code="50", purpose="x", shown=[person.pk * 10 + 1])


def test_access_report_has_all_data_and_lookups_per_unit_but_no_staff(publish, people):
    person = publish()
    _lookups(person, people)
    data = rights.access_report(people["dsb"], person.pk)
    p = data["person"]
    assert p["last_name"] == "Mustermann" and p["date_of_birth"] == date(1980, 4, 12)
    assert p["addresses"][0]["street"] == "Hauptstraße" and p["addresses"][0]["valid_to"] is None
    assert p["entries"][0]["hazard_level"] == 2 and p["entries"][0]["offences"]
    assert p["review_on"] and p["delete_on"] and p["status"] == "active"
    assert data["lookups_per_unit"] == {"11": 1, "32/1": 3}
    assert data["purposes"] and data["recipients"] and data["legal_basis"]
    assert data["rights_requests"][0]["kind"] == "art14"
    blob = repr(data)
    for forbidden in ("Reinhold", "Quentin", "Chefin", "KK11-2026-0815", "drohte"):
        assert forbidden not in blob

    _, pdf = rights.access_report_pdf(people["zks"], person.pk)
    text = flat(pdf_text(pdf))
    assert "Mustermann" in text and "Hauptstraße 5" in text and "12.04.1980" in text
    assert "32/1 3" in text and "11 1" in text
    assert "Bedrohung" in text or "Drohung" in text
    for forbidden in ("Reinhold", "Quentin", "KK11-2026-0815", "drohte"):
        assert forbidden not in text


def test_access_report_is_audited_and_unknown_person_is_404(publish, people):
    from beistand.audit.models import AuditEvent

    person = publish()
    rights.access_report(people["zks"], person.pk)
    assert AuditEvent.objects.filter(action="register.person.access_report",
                                     object_id=str(person.pk)).exists()
    with pytest.raises(NotFound):
        rights.access_report(people["zks"], 999999)


# --- Art. 16/17/18/21 ---------------------------------------------------------------------------

def test_create_request_validates_kind_person_and_date(publish, people):
    person = publish()
    zks = people["zks"]
    today = timezone.localdate()
    with pytest.raises(InvalidInput) as exc:
        rights.create_request(zks, person.pk, "art99", today)
    assert exc.value.field == "kind"
    with pytest.raises(InvalidInput):
        rights.create_request(zks, person.pk, "art14", today)   # a duty, not a request
    with pytest.raises(NotFound):
        rights.create_request(zks, 999999, "art15", today)
    with pytest.raises(InvalidInput):
        rights.create_request(zks, person.pk, "art15", "gestern")
    with pytest.raises(InvalidInput):
        rights.create_request(zks, person.pk, "art15", today + timedelta(days=1))
    for user in (people["dsb"], people["querier"], people["statistik"], people["reporter"]):
        with pytest.raises(AccessDenied):
            rights.create_request(user, person.pk, "art15", today)
    assert RightsRequest.objects.filter(person=person).count() == 1
    req = rights.create_request(zks, person.pk, "art15", date(2026, 1, 31), "Bitte Auskunft")
    assert req.due_on == date(2026, 2, 28)


def test_rectification_updates_identity_address_and_search_keys(publish, people):
    person = publish()
    zks = people["zks"]
    req = rights.create_request(zks, person.pk, "art16", timezone.localdate(),
                                "Mein Geburtsdatum ist falsch.")
    with pytest.raises(InvalidInput) as exc:
        rights.decide(zks, req.pk, "granted", "")
    assert exc.value.field == "reason"
    with pytest.raises(InvalidInput):
        rights.decide(zks, req.pk, "granted", "Nachweis durch Ausweis", {"hazard_level": 0})
    with pytest.raises(InvalidInput):
        rights.decide(zks, req.pk, "granted", "Nachweis durch Ausweis",
                      {"date_of_birth": "1980-13-01"})
    with pytest.raises(InvalidInput):
        rights.decide(zks, req.pk, "maybe", "Nachweis durch Ausweis")
    req.refresh_from_db()
    assert req.state == "open"
    result = rights.decide(zks, req.pk, "granted", "Nachweis durch Personalausweis.",
                           {"date_of_birth": "1980-04-21", "first_names": "Maximilian",
                            "address": {"street": "Ringstraße", "house_number": "7",
                                        "postal_code": "50668", "city": "Köln"}})
    person.refresh_from_db()
    assert result.request.state == "granted"
    assert person.date_of_birth == date(1980, 4, 21) and person.first_names == "Maximilian"
    assert person.addresses.get(valid_to__isnull=True).street == "Ringstraße"
    _, pdf = rights.letter_pdf(people["dsb"], req.pk)
    text = flat(pdf_text(pdf))
    assert "Maximilian Mustermann" in text and "Ringstraße 7" in text
    assert "stattgegeben" in text and "Nachweis durch Personalausweis" in text
    with pytest.raises(Conflict):
        rights.decide(zks, req.pk, "refused", "Noch einmal entschieden")


def test_restriction_restricts_the_person(publish, people):
    person = publish()
    zks = people["zks"]
    req = rights.create_request(zks, person.pk, "art18", timezone.localdate(),
                                "Ich bestreite die Richtigkeit.")
    with pytest.raises(AccessDenied):
        rights.decide(people["dsb"], req.pk, "granted", "DSB entscheidet nicht")
    rights.decide(zks, req.pk, "granted", "Richtigkeit wird geprüft (Art. 18 Abs. 1 a).")
    person.refresh_from_db()
    assert person.status == RegisterPerson.Status.RESTRICTED
    assert "Richtigkeit" in person.status_reason
    text = flat(pdf_text(rights.letter_pdf(zks, req.pk)[1]))
    assert "eingeschränkt" in text and "Art. 18" in text


def test_restricted_person_is_not_found_by_queriers(publish, people):
    from beistand.register import lookup

    person = publish()
    query = {"purpose": "Az. 32-1/2026 Hausbesuch", "last_name": "Mustermann",
             "first_name": "Max", "date_of_birth": date(1980, 4, 12)}
    assert lookup.lookup_person(people["querier"], **query)["candidates"]
    req = rights.create_request(people["zks"], person.pk, "art18", timezone.localdate())
    rights.decide(people["zks"], req.pk, "granted", "Richtigkeit wird bestritten und geprüft.")
    assert lookup.lookup_person(people["querier"], **query)["candidates"] == []


def test_objection_refused_keeps_the_entry_and_writes_a_letter(publish, people):
    person = publish()
    zks = people["zks"]
    req = rights.create_request(zks, person.pk, "art21", timezone.localdate(), "Widerspruch")
    rights.decide(zks, req.pk, "refused", "Zwingende schutzwürdige Gründe: Schutz der "
                                          "Beschäftigten überwiegt.")
    person.refresh_from_db()
    assert person.status == "active"
    text = flat(pdf_text(rights.letter_pdf(zks, req.pk)[1]))
    assert "abgelehnt" in text and "Schutz der Beschäftigten überwiegt" in text


def test_erasure_purges_the_person_and_returns_the_letter_once(publish, people):
    person = publish()
    zks = people["zks"]
    req = rights.create_request(zks, person.pk, "art17", timezone.localdate(), "Löschen!")
    result = rights.decide(zks, req.pk, "granted", "Eintragungsvoraussetzungen entfallen.")
    assert "Max Mustermann" in flat(pdf_text(result.letter_pdf))
    person.refresh_from_db()
    assert person.status == RegisterPerson.Status.DELETED
    assert person.last_name in ("", "gelöscht") and person.date_of_birth is None
    assert not person.addresses.exists() and not person.search_keys.exists()
    assert result.request.state == "granted"
    with pytest.raises(Conflict):
        rights.letter_pdf(zks, req.pk)
    # Issue 17: the Art. 14 information nobody can send any more closed itself, with a note.
    art14 = notification(person)
    assert art14.state == "lapsed" and "gelöscht" in art14.decision_reason
    assert art14.pk not in [r.pk for r in rights.list_requests(zks, state="open")]


def test_access_request_granted_letter_is_the_full_report(publish, people):
    person = publish()
    zks = people["zks"]
    req = rights.create_request(zks, person.pk, "art15", timezone.localdate())
    with pytest.raises(Conflict):
        rights.letter_pdf(zks, req.pk)      # no letter before the decision
    rights.decide(zks, req.pk, "granted", "Vollständige Auskunft erteilt.")
    text = flat(pdf_text(rights.letter_pdf(zks, req.pk)[1]))
    assert "Auskunft" in text and "Hauptstraße 5" in text and "Abfragen" in text


def test_list_requests_filters_and_roles(publish, people):
    person = publish()
    zks, dsb = people["zks"], people["dsb"]
    rights.create_request(zks, person.pk, "art15", timezone.localdate() - timedelta(days=40))
    assert len(rights.list_requests(dsb, state="open")) == 2
    assert [r.kind for r in rights.list_requests(zks, state="overdue")] == ["art15"]
    with pytest.raises(InvalidInput):
        rights.list_requests(zks, state="bald")
    for user in (people["querier"], people["statistik"], people["reporter"]):
        with pytest.raises(AccessDenied):
            rights.list_requests(user)
        with pytest.raises(AccessDenied):
            rights.access_report(user, person.pk)
