"""The start page per role, the page frame, and the DPO's audit check (Django test client)."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.cards import admin_overview
from beistand.accounts.models import DeviceToken
from beistand.audit.models import AuditEvent
from beistand.web import services as web


@pytest.fixture
def demo(settings):
    # Demo mode waives the second factor, so privileged test users reach the start page.
    settings.DEMO_MODE = True
    return settings


def page_of(client, user):
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/konto/anmelden/")


def test_frame_is_german_with_landmarks_csp_and_demo_banner(client, people, demo):
    response = client.get("/", follow=False)
    client.force_login(people["melder"])
    response = client.get("/")
    html = response.content.decode()
    assert '<html lang="de"' in html
    for landmark in ("<header", "<main", "<footer", 'aria-label="Hauptnavigation"'):
        assert landmark in html
    assert html.index('class="bs-skip-link"') < html.index("<header")
    assert 'href="#main"' in html and 'id="main"' in html
    assert "/static/vendor/kern/kern.min.css" in html
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert "Demo" in text_of(html) and "bs-demo" in html
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # No inline script or style: everything the page needs comes from static files.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert "<style" not in html and " style=" not in html
    # Header: body name, user name, logout as a POST form.
    assert "Stadt Teststadt" in html
    assert "Max Melder" in html
    assert re.search(r'<form method="post" action="/konto/abmelden/"', html)


def test_no_demo_banner_outside_demo(client, people, settings):
    settings.DEMO_MODE = False
    html = page_of(client, people["melder"])
    assert "bs-demo" not in html


def test_reporter_sees_own_contact_data_and_no_admin_parts(client, people, demo, org):
    text = text_of(page_of(client, people["melder"]))
    assert "Guten Tag, Max Melder" in text
    assert "Stimmen Ihre Kontaktdaten?" in text
    assert str(org["rooms"][1]) in text
    assert "+49 170 0000000" in text
    assert "Vera Vogt" in text  # the derived direct supervisor
    assert "Anmeldung und Rollen" in text and "Meldende/r" in text
    for foreign in ("Verwaltung", "Ihr Team", "Prüfprotokoll", "Abfrageberechtigung",
                    "Stammdaten"):
        assert foreign not in text
    assert "Zurzeit liegt nichts vor" in text


def test_missing_room_and_phone_need_attention(client, people, demo):
    user = people["personal"]  # no room in the cast
    text = text_of(page_of(client, user))
    assert "In Ihren Kontaktdaten fehlt: Raum" in text


def test_account_without_employee_record(client, make_user, demo):
    user = make_user("technik", employee=False)
    text = text_of(page_of(client, user))
    assert "kein Beschäftigtendatensatz" in text
    assert "Technisches Konto" in text


def test_supervisor_sees_direct_reports(client, people, demo):
    text = text_of(page_of(client, people["vorgesetzte"]))
    assert "Ihr Team" in text
    # Members of 32/1 without an explicit supervisor report to its head.
    assert "4 Beschäftigte berichten direkt an Sie" in text
    for name in ("Max Melder", "Kim Krause", "Lea Lorenz", "Aylin Brandt"):
        assert name in text
    assert "Alexandra Adler" not in text


def test_admin_sees_what_to_look_after(client, people, demo, org):
    html = page_of(client, people["admin"])
    text = text_of(html)
    assert "Verwaltung" in text
    overview = admin_overview()
    assert overview["employees_without_room"] == 6
    assert sorted(overview["units_without_head"]) == ["11", "32", "I", "I/3"]
    assert "Beschäftigte ohne Raum 6" in text
    assert "Einheiten ohne Leitung 4" in text
    assert "Ohne Leitung: 11, 32, I, I/3" in text
    assert 'href="/django-admin/"' in html
    nav = html[html.index('aria-label="Hauptnavigation"'):html.index("</nav>",
                                                               html.index("Hauptnavigation"))]
    links = re.findall(r'href="([^"]+)"[^>]*>([^<]+)</a>', nav)
    assert links == [("/", "Start"), ("/alarm/", "Stiller Alarm"),
                     ("/meldungen/neu/", "Melden"), ("/meldungen/", "Meine Meldungen"),
                     ("/statistik/", "Statistik"),
                     ("/konto/verwaltung/rollen/", "Rollen"),
                     ("/konto/verwaltung/geraete/", "Geräte"), ("/django-admin/", "Stammdaten")]


def test_navigation_of_other_roles_has_start_and_reports(client, people, demo):
    reporting = ["/", "/alarm/", "/meldungen/neu/", "/meldungen/"]
    expected = {"melder": reporting, "dsb": [*reporting, "/register/zugriffsprotokoll/",
                                             "/statistik/", "/statistik/datenschutz/"],
                "abfrage": [*reporting, "/register/auskunft/"],
                "zks": [*reporting, "/meldungen/arbeitsliste/", "/meldungen/ueberfaellig/",
                        "/register/verwaltung/", "/statistik/"]}
    for username, links in expected.items():
        html = page_of(client, people[username])
        nav = html[html.index('aria-label="Hauptnavigation"'):html.index(
            "</nav>", html.index("Hauptnavigation"))]
        assert re.findall(r'href="([^"]+)"', nav) == links, username
        assert 'aria-current="page"' in nav
        assert 'href="/konto/sicherheit/"' in html  # "Sicherheit & Konto" in the header


def test_admin_is_warned_about_silent_devices(client, people, demo, org):
    admin = people["admin"]
    _, device = accounts.create_device_token(admin, "Taster Raum 1.02",
                                             DeviceToken.Kind.BUTTON_HUB, room=org["rooms"][1])
    from django.db import transaction

    with transaction.atomic():
        device.created_at = timezone.now() - timedelta(days=3)
        device.last_seen_at = timezone.now() - timedelta(days=2)
        device.save()
    text = text_of(page_of(client, admin))
    assert "1 Gerät hat sich seit über 24 Stunden nicht gemeldet" in text
    assert "Geräte ohne Meldung seit 24 h 1 von 1" in text


def test_admin_sees_privileged_accounts_without_totp(people, demo):
    # admin, dsb, abfrage, personal, zks hold privileged roles; none has a TOTP device.
    assert admin_overview()["privileged_without_totp"] == 5


def test_querier_sees_expiry_warning(client, people, demo):
    text = text_of(page_of(client, people["abfrage"]))
    assert "Ihre Abfrageberechtigung" in text
    assert "läuft bald ab" in text
    assert "Ihre Rolle „Abfrageberechtigte/r“ endet am" in text


def test_querier_without_near_expiry_has_no_warning(client, org, make_user, demo):
    from beistand.accounts.roles import Role

    user = make_user("langfristig", roles=[Role.QUERIER],
                     expires_at=timezone.now() + timedelta(days=90))
    text = text_of(page_of(client, user))
    assert "Ihre Abfrageberechtigung" in text
    assert "läuft bald ab" not in text and "endet am" not in text


# The security service has the alarm log since the silent alarm exists.
def test_security_gets_the_alarm_log_card(client, people, demo):
    text = text_of(page_of(client, people["sicherheit"]))
    assert "Alarmprotokoll" in text and "Stiller Alarm" in text
    assert "späteren Ausbaustufe" not in text


def test_dpo_sees_grant_counts_without_admin_links(client, people, demo):
    html = page_of(client, people["dsb"])
    text = text_of(html)
    # admin, dsb, abfrage, personal, zks, statistik, sicherheit
    assert "Aktive Zuweisungen 7" in text
    assert "davon enden in 14 Tagen 1" in text  # the querier's grant
    assert "Abfrageberechtigte/r: 1" in text
    assert "/konto/verwaltung/rollen/" not in html  # that page is the administrators'


def test_dpo_checks_audit_chain_without_js(client, people, demo):
    html = page_of(client, people["dsb"])
    assert "Prüfprotokoll" in text_of(html) and "Vergebene Rollen" in text_of(html)
    assert "noch nicht geprüft" in text_of(html)
    before = AuditEvent.objects.filter(action=web.AUDIT_VERIFIED).count()
    response = client.post("/pruefprotokoll/pruefen/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert AuditEvent.objects.filter(action=web.AUDIT_VERIFIED).count() == before + 1
    event = AuditEvent.objects.filter(action=web.AUDIT_VERIFIED).latest("seq")
    assert event.actor == people["dsb"] and event.after["ok"] is True
    text = text_of(client.get("/").content.decode())
    assert "Kette intakt" in text
    assert "Prüfprotokoll geprüft" in text  # the flash message


def test_dpo_check_with_htmx_returns_fragment(client, people, demo):
    client.force_login(people["dsb"])
    response = client.post("/pruefprotokoll/pruefen/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Kette intakt" in html and "Prüfung abgeschlossen" in html


def test_audit_check_is_refused_for_others_and_changes_nothing(client, people, demo):
    client.force_login(people["admin"])
    before = AuditEvent.objects.count()
    response = client.post("/pruefprotokoll/pruefen/")
    assert response.status_code == 403
    assert "Datenschutzbeauftragte/r" in response.content.decode()
    assert AuditEvent.objects.count() == before


def test_audit_check_refuses_get(client, people, demo):
    client.force_login(people["dsb"])
    response = client.get("/pruefprotokoll/pruefen/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "Aktion nicht möglich" in response.content.decode()


def test_audit_check_without_csrf_token_gets_german_page(people, demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["dsb"])
    before = AuditEvent.objects.count()
    response = client.post("/pruefprotokoll/pruefen/")
    assert response.status_code == 403
    html = response.content.decode()
    assert '<html lang="de"' in html and "Formular abgelaufen" in html
    assert AuditEvent.objects.count() == before


def test_broken_chain_is_shown_to_dpo(client, people, demo):
    from django.db import connection

    seq = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first()
    from beistand.audit import guard

    with guard.maintenance(), connection.cursor() as cursor:
        # Tampering by hand: drop the database's guard (rolled back with the test), then edit.
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER audit_event_no_update")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update ON audit_auditevent")
        cursor.execute("UPDATE audit_auditevent SET purpose = 'verändert' WHERE seq = %s", [seq])
    client.force_login(people["dsb"])
    client.post("/pruefprotokoll/pruefen/")
    text = text_of(client.get("/").content.decode())
    assert "Kette beschädigt" in text
    assert f"#{seq}" in text


def _card(page, key):
    return next(card for card in page.cards if card.key == key)


def test_security_card_shows_confirmed_totp(people, demo):
    from django.db import transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        TOTPDevice.objects.create(user=people["admin"], name="App", confirmed=True)
    card = _card(web.start_page_for(people["admin"]), "security")
    assert (card.status, card.tone) == ("eingerichtet", "success")
    assert admin_overview()["privileged_without_totp"] == 4


def test_security_card_demands_totp_for_privileged_roles_outside_demo(people, settings):
    settings.DEMO_MODE = False
    page = web.start_page_for(people["personal"])
    card = _card(page, "security")
    assert (card.status, card.tone) == ("fehlt", "danger")
    assert page.attention[0].tone == "danger"  # the most urgent item comes first
    assert "Zwei-Faktor-Anmeldung" in page.attention[0].text
    assert page.attention[0].link.url == "/konto/sicherheit/"


def test_security_card_for_reporter_is_calm(people, settings):
    settings.DEMO_MODE = False
    page = web.start_page_for(people["melder"])
    card = _card(page, "security")
    assert card.status == "nicht eingerichtet" and card.tone == ""
    assert page.attention == []
