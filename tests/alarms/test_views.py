"""The alarm pages: who may open which, bad input (German, never 500), the log's CSV and
statistics with crafted alarms, coverage, the start page cards and the report hook."""

import csv
import io
from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from beistand.accounts.roles import Role
from beistand.alarms import reporting, services
from beistand.alarms.models import Alarm, AlarmPlan, AlarmRecipient, AlarmTemplate, AlarmTier
from beistand.alarms.store import inbox_for_user
from beistand.audit.models import AuditEvent
from beistand.reports.models import Report


@pytest.fixture
def staff(people, make_user):
    return {**people,
            "zks": make_user("zks", roles=[Role.ZKS]),
            "admin": make_user("admin", roles=[Role.ADMIN]),
            "other": make_user("other")}


@pytest.fixture
def demo(settings):
    settings.DEMO_MODE = True  # waives the second factor of privileged roles
    return settings


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    import re

    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


TZ = timezone.get_current_timezone()


def craft(sender, code="beistand", *, at, ack_s=None, end_s=None, state=None, room=True):
    """An alarm as the engine would have left it, without running the engine."""
    template = AlarmTemplate.objects.get(code=code)
    at = datetime(*at, tzinfo=TZ) if isinstance(at, tuple) else at
    if state is None:
        state = "resolved" if end_s is not None else ("acknowledged" if ack_s else "triggered")
    with transaction.atomic():
        return Alarm.objects.create(
            template=template, sender=sender.employee, sender_user=sender, source="web",
            state=state, room=sender.employee.room if room else None, triggered_at=at,
            persisted_at=at,
            first_ack_at=at + timedelta(seconds=ack_s) if ack_s is not None else None,
            resolved_at=at + timedelta(seconds=end_s) if end_s is not None else None)


def answered(alarm, user, response="coming", tier=1):
    with transaction.atomic():
        return AlarmRecipient.objects.create(
            alarm=alarm, inbox=inbox_for_user(user), label=user.employee.full_name, tier=tier,
            online=True, delivered_at=alarm.triggered_at + timedelta(seconds=1),
            response=response, responded_at=alarm.first_ack_at or alarm.triggered_at)


# --- The alarm page ------------------------------------------------------------------------------

def test_alarm_page_for_every_employee(staff, demo):
    response = login(staff["sender"]).get("/alarm/")
    assert response.status_code == 200
    html = response.content.decode()
    for code in ("beistand", "bedrohung", "medizin", "amok", "probealarm"):
        assert f'value="{code}"' in html
    assert 'data-confirm="1"' in html  # Amok asks first
    assert "alarms/alarm.js" in html and "Raum 1.01" in html
    assert 'href="/alarm/protokoll/"' not in html
    assert 'href="/alarm/protokoll/"' in login(staff["security"]).get("/alarm/").content.decode()
    assert Client().get("/alarm/").status_code == 302  # log in first


def test_trigger_without_javascript(staff, demo, fast_plan):
    client = login(staff["sender"])
    assert client.get("/alarm/ausloesen/").status_code == 405
    response = client.post("/alarm/ausloesen/", {"template": "beistand",
                                                 "client_id": "web-abc"}, follow=True)
    assert "Alarm wurde ausgelöst" in text(response)
    alarm = Alarm.objects.get()
    assert alarm.source == "web" and alarm.client_id == "web-abc"
    # The same press again: the same alarm.
    client.post("/alarm/ausloesen/", {"template": "beistand", "client_id": "web-abc"})
    assert Alarm.objects.count() == 1
    # Amok needs the confirmation; an unknown template is refused in German.
    response = client.post("/alarm/ausloesen/", {"template": "amok"}, follow=True)
    assert "nicht ausgelöst" in text(response) and Alarm.objects.count() == 1
    response = client.post("/alarm/ausloesen/", {"template": "quatsch"}, follow=True)
    assert "Unbekannte Alarmvorlage" in text(response) and Alarm.objects.count() == 1


def test_recent_alarms_offer_the_report_after_the_all_clear(staff, demo):
    alarm = craft(staff["sender"], at=timezone.now() - timedelta(minutes=5), ack_s=10,
                  end_s=60)
    html = login(staff["sender"]).get("/alarm/").content.decode()
    assert f'href="/meldungen/neu/?alarm={alarm.pk}"' in html
    answered(alarm, staff["neighbour"])
    html = login(staff["neighbour"]).get("/alarm/").content.decode()
    assert f'href="/meldungen/neu/?alarm={alarm.pk}"' in html  # a helper, too
    assert "?alarm=" not in login(staff["far"]).get("/alarm/").content.decode()


# --- Alarm log -----------------------------------------------------------------------------------

@pytest.mark.parametrize("who, status", [("sender", 403), ("other", 403), ("security", 200),
                                         ("zks", 200), ("admin", 200)])
def test_log_roles(staff, demo, who, status):
    response = login(staff[who]).get("/alarm/protokoll/")
    assert response.status_code == status
    if status == 403:
        assert "Sicherheitsdienst, ZKS und Administration" in text(response)


@pytest.mark.parametrize("query, message", [
    ("von=gestern", "gültiges Datum"),
    ("von=2025-05-01&bis=2025-04-01", "Ende liegt vor dem Beginn"),
    ("vorlage=gibtsnicht", "Alarmvorlage gibt es nicht"),
    ("status=kaputt", "Status gibt es nicht"),
    ("von=2025-13-45&format=csv", "gültiges Datum"),
])
def test_log_bad_filters_are_german_400(staff, demo, query, message):
    response = login(staff["security"]).get(f"/alarm/protokoll/?{query}")
    assert response.status_code == 400
    assert message in text(response)


@pytest.fixture
def crafted(staff):
    s = staff["sender"]
    alarms = {
        "a1": craft(s, at=(2025, 3, 10, 9, 0), ack_s=10, end_s=60),
        "a2": craft(s, at=(2025, 4, 2, 10, 0), ack_s=30, end_s=90),
        "a3": craft(s, "bedrohung", at=(2025, 4, 3, 11, 0), ack_s=20, end_s=120),
        "a4": craft(s, at=(2025, 4, 4, 12, 0), end_s=45),  # all-clear, nobody came
        "a5": craft(s, at=(2025, 4, 5, 13, 0)),  # still open, nobody came
        "a6": craft(s, "probealarm", at=(2025, 4, 6, 8, 0), end_s=5),
        "a7": craft(s, at=(2025, 4, 7, 8, 0), state="cancelled"),
        "a8": craft(s, "amok", at=(2025, 4, 8, 8, 0), end_s=600),  # nobody is to come
        "a9": craft(s, at=(2025, 4, 9, 8, 0), ack_s=100, end_s=50),  # "coming" too late
    }
    answered(alarms["a1"], staff["neighbour"])
    answered(alarms["a2"], staff["security"], tier=2)
    answered(alarms["a4"], staff["neighbour"], response="cannot")
    return alarms


def test_statistics_from_crafted_alarms(staff, crafted):
    flt = reporting.parse_filter({})
    stats = reporting.log_statistics(staff["security"], flt)
    assert stats["real"] == 7 and stats["test"] == 1 and stats["cancelled"] == 1
    assert stats["total"] == 9
    assert stats["acknowledged"] == 3
    assert stats["ack_median_s"] == 20.0 and stats["ack_p90_s"] == 30.0
    assert stats["unanswered"] == 3
    assert set(stats["unanswered_ids"]) == {crafted[k].pk for k in ("a4", "a5", "a9")}
    assert [(m["label"], m["total"], m["test"]) for m in stats["months"]] == [
        ("März 2025", 1, 0), ("April 2025", 8, 1)]
    april = reporting.log_statistics(staff["security"],
                                     reporting.parse_filter({"von": "2025-04-01"}))
    assert april["real"] == 6 and april["ack_median_s"] == 25.0
    assert reporting.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9


def test_log_page_lists_filters_and_shows_statistics(staff, demo, crafted):
    client = login(staff["zks"])
    response = client.get("/alarm/protokoll/")
    assert response.status_code == 200
    page = text(response)
    assert "9 Alarme" in page and "März 2025" in page and "Ohne Zusage" in page
    assert "20 s" in page and "30 s" in page  # median, p90
    response = client.get("/alarm/protokoll/?vorlage=bedrohung")
    assert "1 Alarm." in text(response) and "Bedrohung" in text(response)
    response = client.get("/alarm/protokoll/?status=cancelled&von=01.04.2025&bis=30.04.2025")
    assert "1 Alarm." in text(response)
    event = AuditEvent.objects.filter(action="alarms.alarm.log_read").last()
    assert event.actor_id == staff["zks"].pk and event.after["count"] == 1


def test_csv_export(staff, demo, crafted):
    response = login(staff["admin"]).get("/alarm/protokoll/?format=csv&von=2025-04-01")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "alarmprotokoll-" in response["Content-Disposition"]
    body = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body), delimiter=";"))
    assert rows[0] == reporting.CSV_HEADERS
    assert len(rows) == 1 + 8
    by_id = {int(r[0]): r for r in rows[1:]}
    a2 = by_id[crafted["a2"].pk]
    assert a2[1] == "02.04.2025 10:00:00" and a2[2] == "Beistand" and a2[4] == "Entwarnung"
    assert a2[6] == "Test Sender" or a2[6] == "Erika Sender"
    assert a2[9] == "1" and a2[10] == "1" and a2[12] == "30"
    assert "Raum 1.01" in a2[8]
    assert by_id[crafted["a6"].pk][3] == "ja"
    assert AuditEvent.objects.filter(action="alarms.alarm.log_export",
                                     actor_id=staff["admin"].pk).exists()


def test_detail_page_shows_timeline_and_recipients(staff, demo, fast_plan):
    result = services.trigger(user=staff["sender"], template="beistand", client_id="d1")
    alarm = result.alarm
    services.respond(staff["neighbour"], alarm.pk, "coming")
    services.post_message(staff["neighbour"], alarm.pk, "Bin unterwegs")
    services.resolve(staff["sender"], alarm.pk, "Lage geklärt")
    response = login(staff["security"]).get(f"/alarm/protokoll/{alarm.pk}/")
    assert response.status_code == 200
    page = text(response)
    for expected in ("Ausgelöst", "Antwort", "Test Neighbour: kommt", "Nachricht",
                     "Entwarnung durch Erika Sender: Lage geklärt", "Bin unterwegs", "Empfänger",
                     "kommt"):
        assert expected in page, expected
    assert AuditEvent.objects.filter(action="alarms.alarm.read", object_id=str(alarm.pk),
                                     actor_id=staff["security"].pk).exists()
    # The sender sees it too, with "Vorfall melden"; an outsider does not; unknown is 404.
    own = login(staff["sender"]).get(f"/alarm/protokoll/{alarm.pk}/")
    assert own.status_code == 200 and f"/meldungen/neu/?alarm={alarm.pk}" in own.content.decode()
    assert login(staff["other"]).get(f"/alarm/protokoll/{alarm.pk}/").status_code == 404
    assert login(staff["security"]).get("/alarm/protokoll/999999/").status_code == 404


# --- Coverage ------------------------------------------------------------------------------------

def test_coverage_of_own_workstation(staff, demo, fast_plan):
    response = login(staff["sender"]).get("/alarm/abdeckung/")
    assert response.status_code == 200
    page = text(response)
    assert "Stufe 1: Nachbarräume" in page and "Test Neighbour" in page
    assert "nicht verbunden" in page
    # Nobody is connected in the test: the page says so loudly.
    assert "Niemand aus dem Alarmplan ist gerade erreichbar" in page


def test_coverage_warns_when_tier_one_is_offline(staff, demo, fast_plan, monkeypatch):
    from beistand.alarms import presence

    security_inbox = inbox_for_user(staff["security"]).pk
    monkeypatch.setattr(presence, "online_inboxes",
                        lambda ids: {i for i in ids if i == security_inbox})
    page = text(login(staff["sender"]).get("/alarm/abdeckung/"))
    assert "Aus Stufe 1 ist gerade niemand verbunden" in page
    assert "würde jetzt übersprungen" in page


def test_coverage_picker_for_privileged_roles_only(staff, demo, fast_plan, org):
    room = org["rooms"][2]
    assert login(staff["sender"]).get(f"/alarm/abdeckung/?raum={room.pk}").status_code == 403
    assert login(staff["sender"]).get("/alarm/abdeckung/?suche=Far").status_code == 403
    admin = login(staff["admin"])
    response = admin.get(f"/alarm/abdeckung/?raum={room.pk}")
    assert response.status_code == 200 and "Raum 1.03" in text(response)
    response = admin.get("/alarm/abdeckung/?suche=Far")
    assert response.status_code == 200 and "für Franz Far" in text(response)
    response = admin.get("/alarm/abdeckung/?suche=Test")
    assert "Mehrere Treffer" in text(response)
    response = admin.get("/alarm/abdeckung/?raum=abc")
    assert response.status_code == 400 and "Eintrag aus der Liste" in text(response)
    response = admin.get("/alarm/abdeckung/?raum=999999")
    assert response.status_code == 404 and "Diesen Raum gibt es nicht" in text(response)
    response = admin.get("/alarm/abdeckung/?suche=Niemandsname")
    assert response.status_code == 400 and "Niemand gefunden" in text(response)
    # An admin without an employee record: only the picker.
    assert admin.get("/alarm/abdeckung/").status_code == 200


def test_coverage_without_any_plan(staff, demo):
    with transaction.atomic():
        AlarmTier.objects.all().delete()
        AlarmPlan.objects.all().delete()
    page = text(login(staff["sender"]).get("/alarm/abdeckung/"))
    assert "kein Alarmplan" in page


# --- Start page ----------------------------------------------------------------------------------

def test_start_page_cards(staff, demo, crafted):
    page = text(login(staff["sender"]).get("/"))
    assert "Stiller Alarm" in page and "Wer bekommt meinen Alarm jetzt?" in page
    assert "Alarmprotokoll öffnen" not in page
    page = text(login(staff["security"]).get("/"))
    assert "Alarmprotokoll öffnen" in page
    # An open alarm the user receives is at the top of the start page.
    open_alarm = craft(staff["sender"], at=timezone.now())
    answered(open_alarm, staff["neighbour"], response="")
    page = text(login(staff["neighbour"]).get("/"))
    assert "Offener Alarm „Beistand“ von Erika Sender" in page


# --- Report hook ---------------------------------------------------------------------------------

def test_report_form_prefilled_from_alarm(staff, demo):
    alarm = craft(staff["sender"], at=timezone.now() - timedelta(minutes=30), ack_s=12,
                  end_s=300)
    answered(alarm, staff["neighbour"])
    answered(alarm, staff["security"], tier=2)
    room = staff["sender"].employee.room
    html = login(staff["sender"]).get(f"/meldungen/neu/?alarm={alarm.pk}").content.decode()
    assert f'action="/meldungen/neu/?alarm={alarm.pk}"' in html
    assert f'<option value="{room.pk}" selected>' in html
    assert f"Stiller Alarm Nr. {alarm.pk}" in html
    assert 'value="Test Neighbour"' in html and 'value="Test Security"' in html
    # A helper: the sender is the person affected, the other helper a witness.
    html = login(staff["neighbour"]).get(f"/meldungen/neu/?alarm={alarm.pk}").content.decode()
    assert "Sender, Erika" in html and 'value="Test Security"' in html
    assert 'value="Test Neighbour"' not in html
    # Not a participant, unknown alarm, bad number.
    # Not a participant: as for an unknown alarm (issue 16, finding 13).
    assert login(staff["far"]).get(f"/meldungen/neu/?alarm={alarm.pk}").status_code == 404
    assert login(staff["far"]).get("/meldungen/neu/?alarm=999999").status_code == 404
    assert login(staff["far"]).get("/meldungen/neu/?alarm=x1").status_code == 400


def test_report_from_alarm_is_linked(staff, demo):
    alarm = craft(staff["sender"], at=timezone.now() - timedelta(minutes=30), ack_s=12,
                  end_s=300)
    when = timezone.localtime(alarm.triggered_at)
    data = {"occurred_at": when.strftime("%Y-%m-%dT%H:%M"), "location_kind": "office",
            "room": str(staff["sender"].employee.room_id), "offences": ["insult"],
            "description": "Beleidigt und angeschrien.", "victim_self": "on",
            "v-TOTAL_FORMS": "0", "v-INITIAL_FORMS": "0", "p-TOTAL_FORMS": "1",
            "p-INITIAL_FORMS": "0", "p-0-known": "unknown", "w-TOTAL_FORMS": "0",
            "w-INITIAL_FORMS": "0", "intent": "draft"}
    response = login(staff["sender"]).post(f"/meldungen/neu/?alarm={alarm.pk}", data)
    assert response.status_code == 302, text(response)
    alarm.refresh_from_db()
    assert alarm.report_id == Report.objects.get().pk
    # A second report from the same alarm does not overwrite the link.
    login(staff["sender"]).post(f"/meldungen/neu/?alarm={alarm.pk}", data)
    alarm.refresh_from_db()
    assert alarm.report_id == Report.objects.order_by("pk").first().pk


# --- Device pairing (admin devices page) ------------------------------------------------------

def test_new_device_token_shows_pairing_qr_and_trigger_url(staff, demo, org, settings):
    settings.BASE_URL = "https://beistand.example.de/"
    response = login(staff["admin"]).post("/konto/verwaltung/geraete/", {
        "name": "Tischtelefon 1.03", "kind": "desk_phone", "room": org["rooms"][2].pk})
    assert response.status_code == 201
    html = response.content.decode()
    token = html.split('id="issued-token" type="text" readonly value="')[1].split('"')[0]
    assert token.startswith("bsd_")
    assert f'value="https://beistand.example.de/api/v1/trigger/{token}"' in html
    assert ("beistand://pair?server=https%3A%2F%2Fbeistand.example.de&amp;token="
            f"{token}") in html
    assert '<svg role="img" aria-label="QR-Code zum Koppeln des Geräts mit beistand"' in html
    # The trigger URL works for the desk phone.
    assert Client().post(f"/api/v1/trigger/{token}?source=phone").status_code == 201


# --- Admin: plans, tiers, templates --------------------------------------------------------------

def test_admin_pages_and_plan_scope_validation(staff, demo, org):
    from beistand.alarms.admin import AlarmPlanForm

    client = login(staff["admin"])
    for path in ("/django-admin/alarms/alarmplan/", "/django-admin/alarms/alarmplan/add/",
                 "/django-admin/alarms/alarmtemplate/",
                 f"/django-admin/alarms/alarmplan/{AlarmPlan.objects.get().pk}/change/"):
        assert client.get(path).status_code == 200, path
    assert login(staff["security"]).get("/django-admin/alarms/alarmplan/").status_code in (
        302, 403)

    def errors(**data):
        form = AlarmPlanForm(data={"name": "Plan", **data})
        return {} if form.is_valid() else form.errors

    room, unit, site = org["rooms"][0], org["abt"], org["site"]
    assert errors(scope="room", room=room.pk) == {}
    assert "room" in errors(scope="room")
    assert "site" in errors(scope="unit", unit=unit.pk, site=site.pk)
    assert errors(scope="site", site=site.pk) == {}
    assert "scope" in errors(scope="default")  # there is one already
    assert "Standard-Alarmplan" in errors(scope="default")["scope"][0]


def test_role_groups_carry_the_alarm_permissions(staff):
    assert staff["admin"].has_perm("alarms.change_alarmplan")
    assert staff["admin"].has_perm("alarms.add_alarmtier")
    assert staff["admin"].has_perm("alarms.delete_alarmtemplate")
    assert staff["security"].has_perm("alarms.view_alarmplan")
    assert not staff["security"].has_perm("alarms.change_alarmplan")
    assert not staff["sender"].has_perm("alarms.view_alarmplan")
