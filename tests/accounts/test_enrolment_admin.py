"""Enrolment codes in the admin site (issue 21 review): IT administrators issue codes for a
room (a person-less workstation) or a person, see them listed with their state and withdraw
open ones - through ``accounts.enrolment`` (role check, audit), in German. Other roles do not
get in; codes are neither edited nor deleted there."""

import re

import pytest

from beistand.accounts.models import EnrolmentCode
from beistand.accounts.roles import Role
from beistand.audit.models import AuditEvent
from tests.accounts.helpers import audit_mark

pytestmark = pytest.mark.django_db

BASE = "/django-admin/accounts/enrolmentcode/"
CODE = re.compile(r'class="enrolment-code">([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})<')


@pytest.fixture(autouse=True)
def _demo_mode(settings):
    # The second factor is the accounts app's business (tested there); here: roles only.
    settings.DEMO_MODE = True


@pytest.fixture
def it_admin(make_user):
    return make_user("it-admin", roles=[Role.ADMIN])


@pytest.fixture
def admin_client(client, it_admin):
    client.force_login(it_admin)
    return client


def issue(client, **fields):
    data = {"name": "PC Empfang", "room": "", "username": "", "kind": "workstation",
            "count": "1", "hours": "24", "alarm_templates": "", **fields}
    return client.post(f"{BASE}add/", data)


def enrol(client, code):
    return client.post("/api/v1/devices/enrol", {"code": code}, content_type="application/json")


@pytest.mark.parametrize("roles", [[], [Role.PERSONNEL], [Role.SECURITY], [Role.DPO]])
def test_other_roles_do_not_get_in(client, make_user, org, roles):
    client.force_login(make_user("jemand", roles=roles))
    for url in (BASE, f"{BASE}add/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url
    assert issue(client, room=str(org["rooms"][0].pk)).status_code == 302
    assert not EnrolmentCode.objects.exists()


def test_admin_issues_codes_for_a_person_less_room_pc_shown_once_and_audited(
        admin_client, client, org):
    room = org["rooms"][0]
    index = admin_client.get("/django-admin/")
    assert "Einmalcodes zur Gerätekopplung" in index.content.decode()
    form = admin_client.get(f"{BASE}add/")
    assert form.status_code == 200
    page = form.content.decode()
    assert "Bezeichnung des Geräts" in page and "Codes ausgeben" in page
    mark = audit_mark()
    response = issue(admin_client, room=str(room.pk), count="2", hours="8")
    assert response.status_code == 200
    page = response.content.decode()
    codes = CODE.findall(page)
    assert len(codes) == 2 and "nur jetzt" in page
    assert "PC Empfang 1" in page and "PC Empfang 2" in page
    stored = list(EnrolmentCode.objects.order_by("name"))
    assert [(c.name, c.room_id, c.user_id) for c in stored] == [
        ("PC Empfang 1", room.pk, None), ("PC Empfang 2", room.pk, None)]
    assert all(c.code_hash not in page for c in stored)  # the clear code only, once
    created = AuditEvent.objects.filter(seq__gt=mark, action="accounts.enrolment.created")
    assert created.count() == 1 and created.get().actor_label.startswith("it-admin")
    # a code from the page pairs a PC: a device token of the room, bound to no person
    answer = enrol(client, codes[0])
    assert answer.status_code == 201, answer.content
    code = EnrolmentCode.objects.get(name="PC Empfang 1")
    assert code.device is not None and code.device.room_id == room.pk
    assert code.device.user_id is None
    # the list shows each code's state, never the code itself
    listing = admin_client.get(BASE).content.decode()
    assert "verwendet" in listing and "offen" in listing
    assert codes[0] not in listing and codes[1] not in listing


def test_admin_issues_a_code_for_a_person(admin_client, org, make_user):
    make_user("kollegin", roles=[])
    response = issue(admin_client, name="PC Kollegin", username="kollegin")
    assert len(CODE.findall(response.content.decode())) == 1
    assert EnrolmentCode.objects.get().user.username == "kollegin"


def test_a_seat_needs_a_room_or_a_person_and_errors_are_german(admin_client, org):
    response = issue(admin_client)
    assert response.status_code == 200
    assert "an einen Raum oder eine Person gebunden" in response.content.decode()
    response = issue(admin_client, username="gibt-es-nicht", room=str(org["rooms"][0].pk))
    assert "Ein aktives Konto „gibt-es-nicht“ gibt es nicht." in response.content.decode()
    response = issue(admin_client, room=str(org["rooms"][0].pk), alarm_templates="Kein Code!")
    assert "Alarmvorlagen: Kennungen" in response.content.decode()  # the service's check
    assert not EnrolmentCode.objects.exists()


def test_admin_withdraws_open_codes_audited_and_they_no_longer_pair(admin_client, client, org):
    room = org["rooms"][0]
    [clear] = CODE.findall(issue(admin_client, room=str(room.pk)).content.decode())
    code = EnrolmentCode.objects.get()
    mark = audit_mark()
    response = admin_client.post(BASE, {"action": "revoke", "_selected_action": [code.pk]},
                                 follow=True)
    assert response.status_code == 200
    assert "1 Einmalcode(s) zurückgezogen" in response.content.decode()
    code.refresh_from_db()
    assert code.revoked_at is not None
    assert AuditEvent.objects.filter(seq__gt=mark, action="accounts.enrolmentcode.update",
                                     object_id=str(code.pk)).exists()
    assert "zurückgezogen" in admin_client.get(BASE).content.decode()
    refused = enrol(client, clear)
    assert refused.status_code == 400 and "zurückgezogen" in refused.content.decode()
    # withdrawing it again changes nothing and says so
    again = admin_client.post(BASE, {"action": "revoke", "_selected_action": [code.pk]},
                              follow=True)
    assert "nicht zurückgezogen" in again.content.decode()


def test_codes_are_neither_edited_nor_deleted_here(admin_client, org):
    issue(admin_client, room=str(org["rooms"][0].pk))
    code = EnrolmentCode.objects.get()
    view = admin_client.get(f"{BASE}{code.pk}/change/")
    assert view.status_code == 200 and 'name="_save"' not in view.content.decode()
    assert admin_client.post(f"{BASE}{code.pk}/change/", {"name": "anders"}).status_code == 403
    assert admin_client.get(f"{BASE}{code.pk}/delete/").status_code == 403
    assert "delete_selected" not in admin_client.get(BASE).content.decode()
    code.refresh_from_db()
    assert code.name == "PC Empfang"
