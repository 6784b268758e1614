"""One-time enrolment codes (issue 21, item 8): an admin creates short-lived codes for seats
(single or bulk), a client exchanges one for a device token of that seat, the code is burnt;
wrong, expired and used codes get a clear German error; audited; rate limited."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from beistand.accounts import enrolment
from beistand.accounts.models import DeviceToken, EnrolmentCode
from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from tests.accounts.helpers import audit_mark, fresh_code, totp_device
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def post_json(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def admin(make_user):
    return make_user("admin", roles=[Role.ADMIN])


def create(client, headers, seats, **extra):
    answer = post_json(client, "/api/v1/devices/enrolment-codes", {"seats": seats, **extra},
                       **headers)
    assert answer.status_code == 201, answer.content
    return answer.json()


def enrol(client, code, **extra):
    return post_json(client, "/api/v1/devices/enrol", {"code": code, **extra})


def test_a_code_pairs_one_workstation_once(client, org, admin, bearer):
    room = org["rooms"][0]
    mark = audit_mark()
    [issued] = create(client, bearer(admin), [{"name": "PC Bürgerbüro", "room_id": room.pk}],
                      hours=2)
    code = issued["code"]
    assert len(code) == 14 and code[4] == code[9] == "-"
    stored = EnrolmentCode.objects.get(pk=issued["id"])
    assert stored.code_hash != code and enrolment.normalise(code) not in stored.code_hash
    assert timedelta(hours=1, minutes=59) < stored.expires_at - timezone.now() <= timedelta(hours=2)

    # case, spaces and dashes do not matter
    answer = enrol(client, code.lower().replace("-", " "), client_name="pc-0815")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["token"].startswith("bsd_")
    assert body["device"]["room_id"] == room.pk
    assert body["device"]["name"] == "PC Bürgerbüro (pc-0815)"
    device = DeviceToken.objects.get(pk=body["device"]["id"])
    assert device.created_by == admin and device.kind == "workstation"
    me = client.get("/api/v1/devices/self", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200
    stored.refresh_from_db()
    assert stored.used_at is not None and stored.device == device

    again = enrol(client, code)
    assert again.status_code == 400
    assert "bereits am" in again.json()["detail"] and "verwendet" in again.json()["detail"]
    assert DeviceToken.objects.count() == 1

    actions = list(AuditEvent.objects.filter(seq__gt=mark).values_list("action", flat=True))
    assert "accounts.enrolment.created" in actions
    assert "accounts.enrolment.redeemed" in actions
    assert "accounts.devicetoken.create" in actions
    assert "accounts.enrolment.refused" in actions
    refused = AuditEvent.objects.filter(seq__gt=mark, action="accounts.enrolment.refused").get()
    assert refused.after == {"reason": "used"}
    # the code itself is nowhere in the audit trail
    assert not AuditEvent.objects.filter(seq__gt=mark, after__icontains=code).exists()


def test_wrong_expired_and_withdrawn_codes_are_refused_in_german(client, org, admin, bearer):
    room = org["rooms"][0]
    seats = [{"name": f"PC {n}", "room_id": room.pk} for n in (1, 2, 3)]
    first, second, third = create(client, bearer(admin), seats)

    wrong = enrol(client, "ABCD-EFGH-JKLM")
    assert wrong.status_code == 400
    assert wrong.json()["detail"].startswith("Dieser Einmalcode ist nicht bekannt")
    short = enrol(client, "ABC")
    assert short.status_code == 400 and "12 Zeichen" in short.json()["detail"]

    EnrolmentCode.objects.filter(pk=second["id"]).update(
        expires_at=timezone.now() - timedelta(minutes=1))
    expired = enrol(client, second["code"])
    assert expired.status_code == 400
    assert "abgelaufen" in expired.json()["detail"]

    assert client.delete(f"/api/v1/devices/enrolment-codes/{third['id']}",
                         **bearer(admin)).status_code == 204
    withdrawn = enrol(client, third["code"])
    assert withdrawn.status_code == 400 and "zurückgezogen" in withdrawn.json()["detail"]

    assert DeviceToken.objects.count() == 0
    assert enrol(client, first["code"]).status_code == 201  # the others stay good
    listed = client.get("/api/v1/devices/enrolment-codes", **bearer(admin)).json()
    assert {c["name"]: bool(c["used_at"]) for c in listed} == \
        {"PC 1": True, "PC 2": False, "PC 3": False}
    assert all("code" not in c for c in listed)


def test_only_admins_create_codes(client, org, make_user, bearer):
    clerk = make_user("sachbearbeitung")
    answer = post_json(client, "/api/v1/devices/enrolment-codes",
                       {"seats": [{"name": "PC", "room_id": org["rooms"][0].pk}]},
                       **bearer(clerk))
    assert answer.status_code == 403
    assert EnrolmentCode.objects.count() == 0


def test_wrong_codes_are_rate_limited(client, org, admin, bearer, settings):
    settings.LOCKOUT_SOURCE_FAILURES = 3
    [good] = create(client, bearer(admin), [{"name": "PC", "room_id": org["rooms"][0].pk}])
    for _ in range(3):
        assert enrol(client, "ABCD-EFGH-JKLM").status_code == 400
    locked = enrol(client, good["code"])
    assert locked.status_code == 429
    assert "vorübergehend gesperrt" in locked.json()["detail"]
    assert not EnrolmentCode.objects.get(pk=good["id"]).used_at  # not burnt while locked


def test_wrong_codes_from_one_address_do_not_stop_the_roll_out_elsewhere(client, org, admin,
                                                                         bearer, settings):
    """Re-attack of issue 16: a few wrong codes from anywhere locked enrolment for everybody
    (the limit over all addresses). Only the guessing address is locked now."""
    settings.LOCKOUT_SOURCE_FAILURES = 3
    settings.LOCKOUT_ACCOUNT_FAILURES = 3
    [good] = create(client, bearer(admin), [{"name": "PC", "room_id": org["rooms"][0].pk}])
    attacker, it_staff = {"REMOTE_ADDR": "203.0.113.7"}, {"REMOTE_ADDR": "10.20.30.40"}
    for _ in range(5):
        post_json(client, "/api/v1/devices/enrol", {"code": "ABCD-EFGH-JKLM"}, **attacker)
    assert post_json(client, "/api/v1/devices/enrol", {"code": good["code"]},
                     **attacker).status_code == 429
    assert post_json(client, "/api/v1/devices/enrol", {"code": good["code"]},
                     **it_staff).status_code == 201


def _proof(admin) -> io.StringIO:
    """The answers to the command's prompts: the admin's password and a fresh code."""
    device = TOTPDevice.objects.filter(user=admin).first() or totp_device(admin)
    return io.StringIO(f"{PASSWORD}\n{fresh_code(device)}\n")


def test_bulk_codes_from_the_command_line(org, admin, tmp_path):
    rooms = org["rooms"][:2]
    seats = tmp_path / "seats.csv"
    seats.write_text("name;room;username\n" + "".join(
        f"PC {r.number};{r.pk};\n" for r in rooms), encoding="utf-8")
    out = io.StringIO()
    call_command("enrolment_codes", "--as", "admin", "--csv", str(seats), "--hours", "8",
                 stdout=out, stdin=_proof(admin))
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2
    codes = [line.split("\t")[0] for line in lines]
    assert all(len(c) == 14 for c in codes)
    assert set(EnrolmentCode.objects.values_list("room_id", flat=True)) == {r.pk for r in rooms}
    out = io.StringIO()
    call_command("enrolment_codes", "--admin", "admin", "--name", "Empfang",
                 "--room", str(rooms[0].pk), "--count", "3", stdout=out, stdin=_proof(admin))
    assert [line.split("\t")[1] for line in out.getvalue().strip().splitlines()] == \
        ["Empfang 1", "Empfang 2", "Empfang 3"]
