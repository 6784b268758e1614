"""The silent alarm in Chromium against a real uvicorn server (HTTP and the alarm WebSocket):
one colleague presses the button, the neighbour's browser shows the receive panel, "Ich komme"
reaches the sender as "Hilfe kommt", the all-clear closes it. Plus the Amok confirm step, the
connection state, WCAG 2.1 AA (axe) at desktop and phone width, and the documentation
screenshots (docs/screenshots/alarm-*.png).
"""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client

from beistand.alarms.models import Alarm, AlarmPlan, AlarmTier

# The alarm tests' organisation (sender, neighbour 4 m away, far colleague, security service)
# replaces the browser tests' cast ("people") in this module.
from tests.alarms.conftest import ServerThread, alarm_defaults, people  # noqa: F401
from tests.browser.conftest import DESKTOP, PHONE, BrowserPage, _axe_source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def plan(people):  # noqa: F811
    """Neighbours within 10 m (30 s) → security service (30 s) → the floor."""
    with transaction.atomic():
        plan = AlarmPlan.objects.get(scope="default")
        plan.tiers.all().delete()
        for order, kind in ((1, "neighbours"), (2, "security"), (3, "floor")):
            AlarmTier.objects.create(plan=plan, order=order, kind=kind, radius_m=10,
                                     timeout_s=30, acks_needed=1)
    return plan


@pytest.fixture
def live(transactional_db, web_settings):
    srv = ServerThread().start()
    yield srv
    srv.stop()


@pytest.fixture
def open_as(browser, live):
    axe = _axe_source()
    contexts = []

    def make(user, viewport=None) -> BrowserPage:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="de-DE",
                                      timezone_id="Europe/Berlin")
        contexts.append(context)
        context.add_init_script(script=axe)
        client = Client()
        client.force_login(user)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live.http}])
        return BrowserPage(context.new_page(), live.http)

    yield make
    for context in contexts:
        context.close()


def connected(bp):
    bp.page.get_by_text("Empfang aktiv").wait_for(timeout=10_000)


def assert_fits_width(bp):
    overflow = bp.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the viewport"


def shot(bp, name):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    bp.page.screenshot(path=str(SCREENSHOT_DIR / name), full_page=True)


def test_alarm_from_button_to_help_coming_and_all_clear(open_as, people, plan):  # noqa: F811
    receiver = open_as(people["neighbour"])
    receiver_phone = open_as(people["neighbour"], viewport=PHONE)
    sender = open_as(people["sender"], viewport=PHONE)
    for bp in (receiver, receiver_phone, sender):
        bp.goto("/alarm/")
        connected(bp)
    sender.assert_accessible()
    assert_fits_width(sender)

    # The sender presses the button (Beistand is preselected).
    sender.page.get_by_role("button", name=re.compile("Alarm auslösen")).click()
    sender.page.get_by_text("Alarm wurde ausgelöst.").wait_for(timeout=10_000)
    alarm = Alarm.objects.get()
    assert alarm.source == "web" and alarm.client_id.startswith("web-")

    # The neighbour's browser shows the receive panel with name, room and phone.
    panel = receiver.page.get_by_role("alertdialog")
    panel.wait_for(timeout=10_000)
    text = panel.inner_text()
    assert "Stiller Alarm: Beistand" in text
    assert "Erika Sender" in text and "Raum 1.01" in text and "Hauptgebäude" in text
    assert "ca. 4 m" in text
    assert panel.get_by_role("link", name=re.compile(r"\+49 221 0000")).get_attribute(
        "href") == "tel:+492210000"
    assert panel.get_by_role("link", name=re.compile(r"\+49 170 1111111")).count() == 1
    assert receiver.page.evaluate("() => document.activeElement.getAttribute('role')") == \
        "alertdialog"
    receiver.assert_accessible()
    shot(receiver, "alarm-receive-desktop.png")
    phone_panel = receiver_phone.page.get_by_role("alertdialog")
    phone_panel.wait_for(timeout=10_000)
    receiver_phone.assert_accessible()
    assert_fits_width(receiver_phone)
    shot(receiver_phone, "alarm-receive-phone.png")

    # "Ich komme" (keyboard) reaches the sender as "Hilfe kommt: …".
    panel.get_by_role("button", name="Ich komme").focus()
    receiver.page.keyboard.press("Enter")
    panel.get_by_text("Ihre Antwort: Ich komme").wait_for(timeout=10_000)
    sender.page.get_by_text("Hilfe kommt: Test Neighbour").wait_for(timeout=10_000)
    phone_panel.get_by_text("Test Neighbour").wait_for(timeout=10_000)  # list of who comes
    sender.assert_accessible()
    shot(sender, "alarm-sender-phone.png")

    # A message in the thread reaches the other window of the receiver.
    panel.get_by_label("Nachricht").fill("Bin unterwegs")
    panel.get_by_role("button", name="Senden").click()
    phone_panel.get_by_text("Bin unterwegs").wait_for(timeout=10_000)

    # The all-clear closes the receive panel; the helper may now report the incident.
    sender.page.get_by_role("button", name="Entwarnung geben").click()
    receiver.page.get_by_text(re.compile("Entwarnung: Beistand von Erika Sender")).wait_for(
        timeout=10_000)
    assert receiver.page.get_by_role("alertdialog").count() == 0
    link = receiver.page.get_by_role("link", name="Vorfall melden")
    assert link.get_attribute("href") == f"/meldungen/neu/?alarm={alarm.pk}"
    sender.page.get_by_role("link", name="Vorfall melden").wait_for(timeout=10_000)
    alarm.refresh_from_db()
    assert alarm.state == "resolved" and alarm.first_ack_at is not None
    assert alarm.recipients.get().delivered_at is not None  # the browser sent its receipt
    for bp in (receiver, receiver_phone, sender):
        bp.assert_no_console_errors()

    # After a reload the page resumes where it was: nothing is shown again.
    receiver.page.reload()
    connected(receiver)
    receiver.page.wait_for_timeout(500)
    assert receiver.page.get_by_role("alertdialog").count() == 0


def test_amok_needs_confirmation_and_probealarm_stays(open_as, people, plan):  # noqa: F811
    receiver = open_as(people["neighbour"])
    receiver.goto("/alarm/")
    connected(receiver)
    sender = open_as(people["sender"])
    sender.goto("/alarm/")
    connected(sender)
    page = sender.page
    page.get_by_label("Amok / Lebensgefahr").check()
    page.get_by_role("button", name=re.compile("Alarm auslösen")).click()
    confirm = page.get_by_role("button", name="Ja, Amok-Alarm auslösen")
    confirm.wait_for()
    assert page.evaluate("() => document.activeElement.textContent.trim()") == \
        "Ja, Amok-Alarm auslösen"
    sender.assert_accessible()
    page.get_by_role("button", name="Abbrechen").click()
    assert page.get_by_text("Nicht ausgelöst.").is_visible()
    assert Alarm.objects.count() == 0

    page.get_by_label("Probealarm").check()
    page.get_by_role("button", name=re.compile("Alarm auslösen")).click()
    page.get_by_text("Alarm wurde ausgelöst.").wait_for(timeout=10_000)
    page.get_by_text(re.compile("Probealarm .* ist ausgelöst")).wait_for(timeout=10_000)
    receiver.page.wait_for_timeout(1000)
    assert receiver.page.get_by_role("alertdialog").count() == 0
    assert Alarm.objects.get().template.code == "probealarm"
    sender.assert_no_console_errors()


def test_connection_loss_is_shown_and_recovers(open_as, live, people, plan):  # noqa: F811
    bp = open_as(people["neighbour"], viewport=PHONE)
    bp.goto("/alarm/")
    connected(bp)
    live.stop()  # the server goes away
    bp.page.get_by_text(re.compile("Verbindung getrennt")).wait_for(timeout=15_000)
    assert bp.page.locator("#alarm-connection").get_attribute("data-state") == "offline"
    bp.assert_accessible()
    restarted = ServerThread()
    restarted.port = live.port
    restarted.server.config.port = live.port
    restarted.start()
    try:
        connected(bp)  # reconnects by itself (backoff 1 s, 2 s, …)
    finally:
        restarted.stop()


def test_log_timeline_and_coverage_pages(open_as, people, plan):  # noqa: F811
    from beistand.alarms import services

    receiver = open_as(people["neighbour"])
    receiver.goto("/alarm/")
    connected(receiver)
    # Coverage of the sender's workstation while the neighbour is connected.
    sender = open_as(people["sender"])
    sender.goto("/alarm/abdeckung/")
    text = sender.page.locator("main").inner_text()
    assert "Stufe 1: Nachbarräume" in text and "verbunden" in text
    sender.assert_accessible()
    shot(sender, "alarm-coverage-desktop.png")
    sender_phone = open_as(people["sender"], viewport=PHONE)
    sender_phone.goto("/alarm/abdeckung/")
    assert_fits_width(sender_phone)
    shot(sender_phone, "alarm-coverage-phone.png")

    result = services.trigger(user=people["sender"], template="bedrohung", client_id="ui-1")
    alarm = result.alarm
    receiver.page.get_by_role("alertdialog").wait_for(timeout=10_000)
    receiver.page.get_by_role("button", name="Ich komme").click()
    receiver.page.get_by_text("Ihre Antwort: Ich komme").wait_for(timeout=10_000)
    services.post_message(people["sender"], alarm.pk, "Kunde wird laut, bitte schnell")
    services.resolve(people["security"], alarm.pk, "Kunde hat das Haus verlassen")

    security = open_as(people["security"])
    security.goto("/alarm/protokoll/")
    text = security.page.locator("main").inner_text()
    assert "Bedrohung" in text and "Erika Sender" in text and "Als CSV herunterladen" in text
    security.assert_accessible()
    shot(security, "alarm-log-desktop.png")
    security.page.get_by_role("link", name=f"Alarm {alarm.pk} ansehen").click()
    security.page.wait_for_url(f"**/alarm/protokoll/{alarm.pk}/")
    text = security.page.locator("main").inner_text()
    for expected in ("Verlauf", "Ausgelöst", "Zugestellt", "Test Neighbour: kommt",
                     "Entwarnung: Kunde hat das Haus verlassen", "Empfänger"):
        assert expected in text, expected
    security.assert_accessible()
    shot(security, "alarm-timeline-desktop.png")
    security_phone = open_as(people["security"], viewport=PHONE)
    security_phone.goto(f"/alarm/protokoll/{alarm.pk}/")
    security_phone.assert_accessible()
    assert_fits_width(security_phone)
    shot(security_phone, "alarm-timeline-phone.png")
    for bp in (receiver, sender, security):
        bp.assert_no_console_errors()


def test_receiver_answers_over_the_socket_after_the_session_expired(open_as, people,  # noqa: F811
                                                                    plan):
    from django.contrib.sessions.models import Session

    from beistand.alarms import services

    receiver = open_as(people["neighbour"], viewport=PHONE)
    receiver.goto("/alarm/")
    connected(receiver)
    with transaction.atomic():
        Session.objects.all().delete()  # the page's session ran out while it stayed open
    alarm = services.trigger(user=people["sender"], template="medizin", client_id="s1").alarm
    panel = receiver.page.get_by_role("alertdialog")
    panel.wait_for(timeout=10_000)
    assert "Medizinischer Notfall" in panel.inner_text()
    panel.get_by_role("button", name="Ich komme").click()
    panel.get_by_text("Ihre Antwort: Ich komme").wait_for(timeout=10_000)
    assert alarm.recipients.get().response == "coming"
    receiver.assert_no_console_errors()
