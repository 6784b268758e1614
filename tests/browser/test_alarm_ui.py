"""The silent alarm in Chromium against a real uvicorn server (HTTP and the alarm WebSocket):
one colleague presses the button, the neighbour's browser shows the receive panel, "Ich komme"
reaches the sender as "Hilfe kommt", the all-clear closes it. Plus the Amok confirm step, the
connection state, WCAG 2.1 AA (axe) at desktop and phone width, and the documentation
screenshots (docs/screenshots/alarm-*.png).
"""

import re

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from playwright.sync_api import expect

from beistand.alarms.models import Alarm, AlarmPlan, AlarmTier

# The alarm tests' organisation (sender, neighbour 4 m away, far colleague, security service)
# replaces the browser tests' cast ("people") in this module.
from tests.alarms.conftest import ServerThread, alarm_defaults, people  # noqa: F401
from tests.browser.conftest import DESKTOP, PHONE, BrowserPage, _axe_source, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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
    bp.page.get_by_text("Empfang aktiv").wait_for()


def assert_fits_width(bp):
    overflow = bp.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the viewport"


def test_alarm_from_button_to_help_coming_and_all_clear(open_as, people, plan,  # noqa: F811
                                                        screenshots):
    from beistand.alarms import services

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
    sender.page.get_by_text("Alarm wurde ausgelöst.").wait_for()
    alarm = Alarm.objects.get()
    assert alarm.source == "web" and alarm.client_id.startswith("web-")

    # The neighbour's browser shows the receive panel with name, room and phone.
    panel = receiver.page.get_by_role("alertdialog")
    panel.wait_for()
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
    screenshots.take(receiver.page, "alarm-receive-desktop.png", full_page=True)
    phone_panel = receiver_phone.page.get_by_role("alertdialog")
    phone_panel.wait_for()
    receiver_phone.assert_accessible()
    assert_fits_width(receiver_phone)
    screenshots.take(receiver_phone.page, "alarm-receive-phone.png", full_page=True)

    # "Ich komme" (keyboard) reaches the sender as "Hilfe kommt: …".
    panel.get_by_role("button", name="Ich komme").focus()
    receiver.page.keyboard.press("Enter")
    panel.get_by_text("Ihre Antwort: Ich komme").wait_for()
    sender.page.get_by_text("Hilfe kommt: Test Neighbour").wait_for()
    phone_panel.get_by_text("Test Neighbour").wait_for()  # list of who comes
    sender.assert_accessible()
    screenshots.take(sender.page, "alarm-sender-phone.png", full_page=True)

    # A message in the thread reaches the other window of the receiver.
    panel.get_by_label("Nachricht").fill("Bin unterwegs")
    panel.get_by_role("button", name="Senden").click()
    phone_panel.get_by_text("Bin unterwegs").wait_for()

    # The all-clear closes the receive panel; the helper may now report the incident.
    sender.page.get_by_role("button", name="Entwarnung geben").click()
    receiver.page.get_by_text(
        re.compile("^Entwarnung – Alarm beendet durch Erika Sender")).wait_for()
    receiver.page.get_by_text(re.compile("^Beistand von Erika Sender")).wait_for()
    expect(receiver.page.get_by_role("alertdialog")).to_have_count(0)
    link = receiver.page.get_by_role("link", name="Vorfall melden")
    assert link.get_attribute("href") == f"/meldungen/neu/?alarm={alarm.pk}"
    sender.page.get_by_role("link", name="Vorfall melden").wait_for()
    alarm.refresh_from_db()
    assert alarm.state == "resolved" and alarm.first_ack_at is not None
    wait_until(lambda: alarm.recipients.filter(delivered_at__isnull=False).exists(),
               "the receipt the receiver's browser sent")
    for bp in (receiver, receiver_phone, sender):
        bp.assert_no_console_errors()

    # After a reload the page resumes where it was: nothing is shown again. A new alarm comes
    # after everything the page replays: once its panel is there, the old one would be too.
    receiver.page.reload()
    connected(receiver)
    services.trigger(user=people["sender"], template="medizin", client_id="after-reload")
    panels = receiver.page.get_by_role("alertdialog")
    panels.get_by_text("Medizinischer Notfall").first.wait_for()
    expect(panels).to_have_count(1)


def test_amok_needs_confirmation_and_probealarm_stays(open_as, people, plan):  # noqa: F811
    from beistand.alarms import services

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
    expect(page.get_by_text("Nicht ausgelöst.")).to_be_visible()
    assert Alarm.objects.count() == 0

    page.get_by_label("Probealarm").check()
    page.get_by_role("button", name=re.compile("Alarm auslösen")).click()
    page.get_by_text("Alarm wurde ausgelöst.").wait_for()
    page.get_by_text(re.compile("Probealarm .* ist ausgelöst")).wait_for()
    assert Alarm.objects.get().template.code == "probealarm"
    # The Probealarm stays with the sender: a real alarm after it reaches the neighbour alone.
    services.trigger(user=people["sender"], template="beistand", client_id="after-probe")
    panels = receiver.page.get_by_role("alertdialog")
    panels.get_by_text("Stiller Alarm: Beistand").wait_for()
    expect(panels).to_have_count(1)
    sender.assert_no_console_errors()


def test_connection_loss_is_shown_and_recovers(open_as, live, people, plan):  # noqa: F811
    bp = open_as(people["neighbour"], viewport=PHONE)
    bp.goto("/alarm/")
    connected(bp)
    live.stop()  # the server goes away
    bp.page.get_by_text(re.compile("Verbindung getrennt")).wait_for()
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


def test_log_timeline_and_coverage_pages(open_as, people, plan, screenshots):  # noqa: F811
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
    screenshots.take(sender.page, "alarm-coverage-desktop.png", full_page=True)
    sender_phone = open_as(people["sender"], viewport=PHONE)
    sender_phone.goto("/alarm/abdeckung/")
    assert_fits_width(sender_phone)
    screenshots.take(sender_phone.page, "alarm-coverage-phone.png", full_page=True)

    result = services.trigger(user=people["sender"], template="bedrohung", client_id="ui-1")
    alarm = result.alarm
    receiver.page.get_by_role("alertdialog").wait_for()
    receiver.page.get_by_role("button", name="Ich komme").click()
    receiver.page.get_by_text("Ihre Antwort: Ich komme").wait_for()
    services.post_message(people["sender"], alarm.pk, "Kunde wird laut, bitte schnell")
    services.resolve(people["security"], alarm.pk, "Kunde hat das Haus verlassen")

    security = open_as(people["security"])
    security.goto("/alarm/protokoll/")
    text = security.page.locator("main").inner_text()
    assert "Bedrohung" in text and "Erika Sender" in text and "Als CSV herunterladen" in text
    security.assert_accessible()
    screenshots.take(security.page, "alarm-log-desktop.png", full_page=True)
    security.page.get_by_role("link", name=f"Alarm {alarm.pk} ansehen").click()
    security.page.wait_for_url(f"**/alarm/protokoll/{alarm.pk}/")
    text = security.page.locator("main").inner_text()
    for expected in ("Verlauf", "Ausgelöst", "Zugestellt", "Test Neighbour: kommt",
                     "Entwarnung durch Test Security: Kunde hat das Haus verlassen", "Empfänger"):
        assert expected in text, expected
    security.assert_accessible()
    screenshots.take(security.page, "alarm-timeline-desktop.png", full_page=True)
    security_phone = open_as(people["security"], viewport=PHONE)
    security_phone.goto(f"/alarm/protokoll/{alarm.pk}/")
    security_phone.assert_accessible()
    assert_fits_width(security_phone)
    screenshots.take(security_phone.page, "alarm-timeline-phone.png", full_page=True)
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
    panel.wait_for()
    assert "Medizinischer Notfall" in panel.inner_text()
    panel.get_by_role("button", name="Ich komme").click()
    panel.get_by_text("Ihre Antwort: Ich komme").wait_for()
    assert alarm.recipients.get().response == "coming"
    # The page's background coverage poll may fail once its session is gone (400 when the
    # deletion races the request); what matters here is the answer over the socket.
    receiver.console_errors[:] = [e for e in receiver.console_errors
                                  if "/api/v1/alarms/coverage" not in e]
    receiver.assert_no_console_errors()


@pytest.fixture
def last_resort_plan(people):  # noqa: F811
    """Neighbours (10 m) → floor → security service (the last resort, SMS to the offline)."""
    with transaction.atomic():
        plan = AlarmPlan.objects.get(scope="default")
        plan.tiers.all().delete()
        for order, kind in ((1, "neighbours"), (2, "floor"), (3, "security")):
            AlarmTier.objects.create(plan=plan, order=order, kind=kind, radius_m=10,
                                     timeout_s=30, acks_needed=1, sms_when_offline=True)
    return plan


def test_nobody_online_coverage_red_then_niemand_hat_zugesagt(open_as, people,  # noqa: F811
                                                              last_resort_plan, screenshots,
                                                              monkeypatch):
    """Issue 19: before pressing the page says nobody would get the alarm (red, updated live);
    an alarm that reaches nobody shows "Niemand hat zugesagt – rufen Sie 110", never success."""
    from beistand.alarms import views

    monkeypatch.setattr(views, "COVERAGE_REFRESH_SECONDS", 1)
    sender = open_as(people["sender"], viewport=PHONE)
    sender.goto("/alarm/")
    connected(sender)
    coverage = sender.page.locator("#alarm-coverage")
    expect(coverage).to_have_attribute("data-level", "red")
    expect(coverage).to_contain_text("Niemand ist gerade verbunden")
    sender.assert_accessible()
    screenshots.take(sender.page, "alarm-coverage-red-phone.png", full_page=True)

    sender.page.get_by_role("button", name=re.compile("Alarm auslösen")).click()
    nobody = sender.page.get_by_role("alert").filter(has_text="Niemand hat zugesagt")
    nobody.wait_for(timeout=2000)
    assert nobody.inner_text().startswith("Niemand hat zugesagt – rufen Sie 110")
    call = nobody.get_by_role("link", name="Jetzt 110 anrufen")
    assert call.get_attribute("href") == "tel:110"
    # No success look anywhere: the result line is neutral, no "Hilfe kommt".
    assert "bs-alarm__result--ok" not in (sender.page.locator("#alarm-result")
                                          .get_attribute("class"))
    expect(sender.page.get_by_text(re.compile("^Hilfe kommt:"))).to_have_count(0)
    sender.assert_accessible()
    assert_fits_width(sender)
    screenshots.take(sender.page, "alarm-nobody-phone.png", full_page=True)
    desktop = open_as(people["sender"])
    desktop.goto("/alarm/")
    desktop.page.get_by_role("alert").filter(has_text="Niemand hat zugesagt").wait_for()
    desktop.assert_accessible()
    screenshots.take(desktop.page, "alarm-nobody-desktop.png", full_page=True)

    # A colleague of the first tier connects: the indicator turns green by itself.
    neighbour = open_as(people["neighbour"])
    neighbour.goto("/alarm/")
    connected(neighbour)
    expect(coverage).to_have_attribute("data-level", "green", timeout=10_000)
    expect(coverage).to_contain_text("Stufe 1")
    screenshots.take(sender.page, "alarm-coverage-green-phone.png", full_page=True)
    for bp in (sender, desktop, neighbour):
        bp.assert_no_console_errors()
