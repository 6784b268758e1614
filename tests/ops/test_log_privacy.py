"""No personal data in log lines: the flows that handle names, phone numbers, addresses and
report texts run with every logger at DEBUG, and no log record (message or exception text,
formatted as JSON the way production writes it) contains any of them."""

import json
import logging
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.alarms import services as alarms
from beistand.alarms import sms, sms_inbound
from beistand.alarms.models import SmsMessage
from beistand.notify import services as notify
from beistand.ops.logs import JsonFormatter
from beistand.reports import services as reports
from beistand.reports.services import PerpetratorInput
from tests.alarms.conftest import free_port
from tests.reports.conftest import report_input

PERSONAL = ["Zitterbacke", "Xaverius", "Quengelgasse", "Wunderlich", "Ottilie", "9876543",
            "5554443", "Schnurrbart", "wunderlich@"]


@pytest.fixture
def captured(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_personal_data(records):
    formatter = JsonFormatter()
    assert records, "the flows should have logged something (else this test checks nothing)"
    for record in records:
        line = formatter.format(record)
        json.loads(line)
        for word in PERSONAL:
            assert word.lower() not in line.lower(), f"{word!r} in log line: {line}"


def test_flows_with_personal_data_log_none_of_it(captured, cast, people, client, bearer,
                                                 make_user, org, settings, tmp_path):
    # The alarm sender has a name and a mobile number; the far colleague is offline (SMS).
    with transaction.atomic():
        emp = people["sender"].employee
        emp.first_name, emp.last_name, emp.mobile_phone = "Ottilie", "Wunderlich", "0171 9876543"
        emp.email = "wunderlich@teststadt.example"
        emp.save()
        far = people["far"].employee
        far.mobile_phone = "0160 5554443"
        far.save()

    # 1. A report naming the perpetrator with address, through the workflow to the register.
    perpetrator = PerpetratorInput(last_name="Zitterbacke", first_names="Xaverius",
                                   street="Quengelgasse", house_number="3",
                                   postal_code="50667", city="Köln",
                                   date_of_birth=date(1970, 1, 2))
    report = reports.create_report(cast["melder"], report_input(
        perpetrators=[perpetrator], description="Herr Zitterbacke drohte mit dem Schnurrbart."),
        submit=True)
    reports.transition(cast["chefin"], report.pk, "release")
    reports.transition(cast["personal"], report.pk, "file_complaint",
                       {"police_file_number": "KK11-2026-0815",
                        "complaint_date": timezone.localdate().isoformat()})
    reports.transition(cast["zks"], report.pk, "publish", {"comment": "geprüft"})

    # 2. Register look-ups by name and address over the API, a good and a refused one.
    querier = make_user("abfrage", roles=[Role.QUERIER], unit=org["amt32"],
                        expires_at=timezone.now() + timedelta(days=30))
    headers = bearer(querier)
    for body in ({"purpose": "Az. 32/1-2026-17, Hausbesuch", "last_name": "Zitterbacke",
                  "first_name": "Xaverius"},
                 {"purpose": "Az. 32/1-2026-17", "street": "Quengelgasse",
                  "house_number": "3", "postal_code": "50667"},
                 {"last_name": "Zitterbacke", "first_name": "Xaverius"}):  # no purpose: 400
        client.post("/api/v1/register/lookups", json.dumps(body),
                    content_type="application/json", **headers)

    # 3. An alarm with the sender's name; the offline colleague gets an SMS, which fails at a
    #    gammu spool that does not exist (the spool file name holds the number).
    settings.SMS_PROVIDER = "gammu"
    settings.SMS_GAMMU_OUTBOX = str(tmp_path / "no-such-spool")
    alarm = alarms.trigger(user=people["sender"], template="beistand", source="hotkey").alarm
    settings.SMS_PROVIDER = "gammu"
    for row in SmsMessage.objects.filter(direction="out"):
        sms.send_one(row.pk)
    alarms.resolve(people["sender"], alarm.pk, note="Herr Zitterbacke ist gegangen")

    # 4. Inbound SMS: from the sender's registered number, and from an unknown one.
    now = timezone.now()
    sms_inbound.receive("+491719876543", "ALARM Quengelgasse 3", "gw-1", now)
    sms_inbound.receive("+4915155544430", "ALARM Quengelgasse 3 Zitterbacke", "gw-2", now)

    # 5. Mail that cannot be delivered, and a mail with a recipient without address.
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": free_port(),
                                                "timeout": 2}}}
    with transaction.atomic():
        mail = notify.enqueue_mail(["wunderlich@teststadt.example"], "Test", "alarm_test_reminder",
                                   {"unit": org["abt"], "days": 1, "rooms": []},
                                   reason="Test", missing=["Ottilie Wunderlich"])
    settings.MAIL_MAX_ATTEMPTS = 1
    notify.deliver(mail.pk)

    assert_no_personal_data(captured.records)
