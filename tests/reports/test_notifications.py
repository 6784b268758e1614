"""Notifications of workflow steps, delivered to a real SMTP server after commit."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from beistand.core.errors import Conflict
from beistand.notify.models import OutgoingMail
from beistand.ops.worker import BeistandWorker
from beistand.organisation.models import Employee
from beistand.reports import services
from tests.notify import fixtures
from tests.reports.conftest import report_input

smtp, catalogue = fixtures.smtp, fixtures.catalogue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("catalogue")]

ZKS = "zks-postfach@teststadt.example"
CHEFIN = "chefin@teststadt.example"
MELDER = "melder@teststadt.example"
PERSONAL = "personal@teststadt.example"
# Things a mail body must never contain: the perpetrator and what happened.
SECRETS = ("Mustermann", "Max", "abzufangen", "Kunde")


def deliver():
    BeistandWorker(interval=0.1).run_once()


def assert_discreet(received):
    for m in received:
        for secret in SECRETS:
            assert secret not in m.body and secret not in m.subject, (secret, m.subject)


def test_submit_mails_zks_and_supervisor_after_commit(cast, submitted, smtp):
    report = submitted()
    ref = report.reference
    assert smtp.messages == []  # committed, but the worker has not run: nothing sent yet
    deliver()
    received = smtp.wait_for(3)

    [to_chefin] = smtp.to(CHEFIN)
    assert to_chefin.subject == f"Meldung {ref}: bitte prüfen und freigeben"
    assert "Frist:" in to_chefin.body
    assert "Bitte prüfen Sie die Meldung als direkte/r Vorgesetzte/r" in to_chefin.body
    assert f"https://beistand.teststadt.example/meldungen/{report.pk}/" in to_chefin.body
    assert "Gefährdungsstufe:  2" in to_chefin.body
    [to_zks] = smtp.to(ZKS)
    assert to_zks.subject == f"Neue Meldung {ref} eingegangen"
    [to_melder] = smtp.to(MELDER)
    assert to_melder.subject == f"Ihre Meldung {ref} wurde eingereicht"
    assert to_zks.message["From"] == "beistand@teststadt.example"
    assert_discreet(received)
    assert set(OutgoingMail.objects.values_list("status", flat=True)) == {"sent"}


def test_rolled_back_or_refused_step_enqueues_nothing(cast, submitted, smtp):
    report = submitted()
    mails = OutgoingMail.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.transition(cast["chefin"], report.pk, "release")
        assert OutgoingMail.objects.count() > mails  # enqueued inside the transaction ...
        raise RuntimeError("something later in the request failed")
    with pytest.raises(Conflict):
        services.transition(cast["chefin"], report.pk, "publish")
    assert OutgoingMail.objects.count() == mails  # ... and gone with it
    deliver()
    assert not smtp.to(PERSONAL)
    assert len(smtp.wait_for(3)) == 3  # only the submission's mails


def test_every_step_reaches_the_right_people(cast, submitted, smtp):
    report = submitted()
    ref = report.reference
    services.transition(cast["chefin"], report.pk, "release")
    services.transition(cast["personal"], report.pk, "file_complaint",
                        {"police_file_number": "KK11-2026-4711"})
    services.transition(cast["zks"], report.pk, "publish")
    deliver()
    received = smtp.wait_for(3 + 2 + 2 + 1)
    assert_discreet(received)

    assert [m.subject for m in smtp.to(PERSONAL)] == [f"Meldung {ref}: Strafanzeige erstatten"]
    assert "Strafanzeige" in smtp.to(PERSONAL)[0].body
    assert sorted(m.subject for m in smtp.to(ZKS)) == sorted(
        [f"Neue Meldung {ref} eingegangen", f"Meldung {ref}: bitte prüfen"])
    assert [m.subject for m in smtp.to(MELDER)] == [
        f"Ihre Meldung {ref} wurde eingereicht",
        f"Ihre Meldung {ref} wurde freigegeben",
        f"Ihre Meldung {ref} wurde an die ZKS weitergegeben",
        f"Ihre Meldung {ref} wurde abschließend bearbeitet",
    ]
    # The reporter's mails carry no file number of the police and no register details.
    for m in smtp.to(MELDER):
        assert "KK11" not in m.body and "Register" not in m.body
    assert len(smtp.to(CHEFIN)) == 1


def test_returned_report_brings_the_comment_to_the_reporter(cast, submitted, smtp):
    report = submitted()
    services.transition(cast["chefin"], report.pk, "return",
                        {"comment": "Bitte die Uhrzeit ergänzen."})
    services.transition(cast["melder"], report.pk, "resubmit")
    deliver()
    smtp.wait_for(3 + 1 + 3)
    to_melder = smtp.to(MELDER)
    assert to_melder[1].subject == f"Ihre Meldung {report.reference} wurde zur Ergänzung " \
        "zurückgegeben"
    assert "Bitte die Uhrzeit ergänzen." in to_melder[1].body
    assert to_melder[2].subject == f"Ihre Meldung {report.reference} wurde erneut eingereicht"
    assert len(smtp.to(CHEFIN)) == 2  # the resubmission asks for release again


def test_recipient_without_address_is_skipped_and_recorded(cast, smtp):
    chef = Employee.objects.get(user=cast["chefin"])
    with transaction.atomic():
        chef.email = ""
        chef.save()
    melder = get_user_model().objects.get(pk=cast["melder"].pk)  # not the cached unit head
    report = services.create_report(melder, report_input(), submit=True)
    deliver()
    smtp.wait_for(2)
    assert not smtp.to(CHEFIN) and smtp.to(ZKS) and smtp.to(MELDER)
    skipped = OutgoingMail.objects.get(reason=f"report:{report.pk}:submit:supervisor")
    assert skipped.status == OutgoingMail.State.SKIPPED
    assert skipped.missing == [
        f"Vorgesetzte/r Test Chefin (Personalnr. {chef.personnel_number}): keine "
        "E-Mail-Adresse"]


def test_victims_supervisor_is_asked_too(cast, make_user, smtp):
    org = cast["org"]
    amt11_head = make_user("leitung11", unit=org["amt11"], head_of=org["amt11"])
    # In Amt 11 (supervisor leitung11), working in the building of the incident: a plausible
    # victim (issue 16, finding 8).
    victim = make_user("kollegin11", unit=org["amt11"], room=org["rooms"][2]).employee
    melder = Employee.objects.get(user=cast["melder"])
    services.create_report(cast["melder"], report_input(victim_ids=[melder.pk, victim.pk]),
                           submit=True)
    deliver()
    smtp.wait_for(3)
    [ask] = [m for m in smtp.messages if "freigeben" in m.subject]
    assert sorted(ask.rcpt_tos) == sorted([CHEFIN, amt11_head.email])
