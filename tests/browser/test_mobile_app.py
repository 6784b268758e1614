"""The phone web app end to end: headless Chromium at phone size against a real server process
(uvicorn with the alarm engine and WebSocket, in a thread), two browser contexts.

- login in the browser, the device token, press-and-hold with an emulated position, "Alarm wurde
  ausgelöst"; a colleague's phone receives it with distance and direction and answers "Ich
  komme"; the sender sees "Hilfe kommt: …";
- offline: the ``sms:`` link with the structured text, the queued alarm arrives when data returns
  (one alarm, de-duplicated by its client id);
- a visit whose timer nobody answers: "Alles in Ordnung?", pre-alarm, then an alarm to the team
  (the server clock is passed to ``run_due`` explicitly).
"""

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from beistand.alarms.models import Alarm, AlarmPlan, AlarmTier, Inbox
from beistand.mobile import visits
from beistand.mobile.models import Visit
from tests.alarms.conftest import ServerThread, alarm_defaults, people  # noqa: F401
from tests.browser.conftest import AXE_TAGS, PHONE, _axe_source, wait_until
from tests.conftest import PASSWORD

GATEWAY = "+49 170 9999999"
# The sender stands at the town hall, the colleague about 140 m to the north-east.
SENDER_AT = {"latitude": 50.93750, "longitude": 6.96030, "accuracy": 12}
HELPER_AT = {"latitude": 50.93840, "longitude": 6.96180, "accuracy": 10}


@pytest.fixture
def unit_plan(people):  # noqa: F811
    """Tier 1: everybody of the sender's unit (the colleague's phone), long timeout."""
    with transaction.atomic():
        plan = AlarmPlan.objects.get(scope="default")
        plan.tiers.all().delete()
        AlarmTier.objects.create(plan=plan, order=1, kind="unit", timeout_s=300, acks_needed=1)
    return plan


@pytest.fixture
def app_server(transactional_db, web_settings, unit_plan):
    web_settings.SMS_GATEWAY_NUMBER = GATEWAY
    web_settings.APP_SMS_FALLBACK_SECONDS = 3
    srv = ServerThread().start()
    yield srv
    srv.stop()


@pytest.fixture
def phone(browser, app_server):
    contexts = []
    axe = _axe_source()

    def make(where):
        context = browser.new_context(viewport=PHONE, locale="de-DE", timezone_id="Europe/Berlin",
                                      geolocation=where, permissions=["geolocation"],
                                      has_touch=True, device_scale_factor=2)
        contexts.append(context)
        context.add_init_script(script=axe)  # via DevTools: the page's CSP does not apply
        page = context.new_page()
        page.errors = []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        return context, page

    yield make
    for context in contexts:
        context.close()


def login(page, server, user):
    page.goto(server.http + "/app/")
    page.get_by_role("link", name="Anmelden und verbinden").click()
    page.get_by_label("Benutzername").fill(user.get_username())
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(server.http + "/app/")
    page.locator("#screen-alarm").wait_for(state="visible")
    page.wait_for_selector('#conn[data-state="online"]')


PRESSING = "#alarm-button.bs-hold--pressing"  # while the page counts the hold
OUTBOX = "() => JSON.parse(localStorage.getItem('beistand.app.outbox') || '[]').length"


def _press(page):
    box = page.locator("#alarm-button").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.locator(PRESSING).wait_for(state="attached")


def hold(page):
    """Press and keep pressing until the page has counted the whole hold time (then release)."""
    _press(page)
    page.locator(PRESSING).wait_for(state="detached")
    page.mouse.up()


def tap(page):
    """A short press: released while the page still counts."""
    _press(page)
    page.mouse.up()
    page.locator(PRESSING).wait_for(state="detached")


def assert_accessible(page):
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
            .violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))""",
        AXE_TAGS)
    assert not violations, violations


def real_errors(page):
    # Opening the SMS composer has no handler in a headless browser, and requests fail while
    # the phone is offline: both are expected here.
    return [e for e in page.errors if "sms:" not in e and "scheme does not have" not in e
            and "ERR_INTERNET_DISCONNECTED" not in e]


def test_alarm_from_the_phone_reaches_a_colleague_who_answers(
        phone, app_server, people, screenshots):  # noqa: F811
    _, sender = phone(SENDER_AT)
    _, helper = phone(HELPER_AT)
    login(sender, app_server, people["sender"])
    login(helper, app_server, people["neighbour"])
    screenshots.take(sender, "app-button.png")
    assert_accessible(sender)

    # A short press is no alarm (pocket protection): nothing queued to be sent.
    tap(sender)
    assert sender.evaluate(OUTBOX) == 0
    assert not Alarm.objects.exists()

    # The phone has its first position fix once it has told the server (as a receiver).
    wait_until(lambda: Inbox.objects.filter(user=people["sender"],
                                            position_at__isnull=False).exists(),
               "the sender's first position fix")
    hold(sender)
    sender.get_by_text("Alarm wurde ausgelöst.").wait_for()
    alarm = Alarm.objects.get()
    assert alarm.source == "app" and alarm.sender_user == people["sender"]
    assert alarm.client_id.startswith("app-")
    assert abs(alarm.lat - SENDER_AT["latitude"]) < 1e-6
    assert alarm.accuracy_m == 12

    # The colleague's phone: full-screen receive screen with distance and direction.
    screen = helper.locator("#incoming")
    screen.wait_for(state="visible")
    card = helper.locator(f"#rx-{alarm.pk}")
    assert "ALARM: Beistand" in card.locator('[data-f="title"]').inner_text()
    assert "Erika Sender" in card.locator('[data-f="name"]').inner_text()
    distance = card.locator('[data-f="distance"]').inner_text()
    assert re.fullmatch(r"1[4-7]0 m Richtung Südwest", distance), distance
    assert card.get_by_role("link", name=re.compile("Anrufen")).get_attribute("href") == \
        "tel:+491701111111"
    assert card.get_by_role("link", name="In Karten-App öffnen").get_attribute(
        "href").startswith("geo:50.937500,6.960300")
    screenshots.take(helper, "app-receive.png")
    assert_accessible(helper)

    card.get_by_role("button", name="Ich komme").click()
    card.get_by_text("Ihre Antwort: Ich komme").wait_for()
    sender.get_by_text("Hilfe kommt: Test Neighbour").first.wait_for()
    screenshots.take(sender, "app-confirmation.png")

    # A message in the alarm's thread reaches the sender's alarm.
    card.get_by_label("Nachricht an alle Beteiligten").fill("Bin in 2 Minuten da")
    card.get_by_role("button", name="Senden").click()
    card.locator('[data-f="thread"]').get_by_text("Bin in 2 Minuten da").wait_for()

    # The sender moves: the helper's screen follows.
    sender.context.set_geolocation({"latitude": 50.93800, "longitude": 6.96100, "accuracy": 8})
    helper.wait_for_function(
        "() => /^(\\d+) m/.test(document.querySelector('[data-f=\"distance\"]').textContent)"
        " && parseInt(document.querySelector('[data-f=\"distance\"]').textContent) < 120")

    # The all-clear is shown as such (not by the screen vanishing) until the helper closes it.
    sender.get_by_role("button", name="Entwarnung geben").click()
    card.get_by_text(re.compile("^Entwarnung – Alarm beendet durch Erika Sender")).wait_for()
    assert screen.is_visible()
    assert card.get_by_role("button", name="Ich komme").count() == 0
    assert_accessible(helper)
    card.get_by_role("button", name="Schließen").click()
    screen.wait_for(state="hidden")
    assert real_errors(sender) == [] and real_errors(helper) == []


def test_offline_alarm_offers_the_sms_and_is_sent_when_data_returns(
        phone, app_server, people, screenshots):  # noqa: F811
    context, sender = phone(SENDER_AT)
    login(sender, app_server, people["sender"])
    context.set_offline(True)
    hold(sender)
    box = sender.locator("#sms-fallback")
    box.wait_for(state="visible")
    sender.get_by_text("Keine Verbindung – Alarm noch nicht übertragen").wait_for()
    # The text carries the position as soon as the phone has its first fix.
    expect(sender.locator("#sms-text")).to_have_text("ALARM 50.93750,6.96030")
    href = sender.get_by_role("link", name="SMS-Alarm senden").get_attribute("href")
    assert href.startswith("sms:+491709999999?body=")
    body = unquote(href.split("body=", 1)[1])
    assert body == "ALARM 50.93750,6.96030"
    # Exactly what the server's inbound SMS path understands.
    from beistand.alarms.sms_inbound import parse_inbound

    assert parse_inbound(body) == (50.9375, 6.9603, "")
    screenshots.take(sender, "app-offline-sms.png")
    assert not Alarm.objects.exists()

    # Every text the result line shows from now on: with nobody online, "Niemand hat zugesagt"
    # (the own alarm's card) can follow the confirmation within milliseconds and clear the line.
    sender.evaluate("""() => { window.resultTexts = [];
        const line = document.getElementById('alarm-result');
        new MutationObserver(() => window.resultTexts.push(line.textContent))
            .observe(line, {childList: true, characterData: true, subtree: true}); }""")
    context.set_offline(False)
    sender.wait_for_function("""() => window.resultTexts.some(
        (t) => t.includes('über das Datennetz angekommen, die SMS ist nicht mehr nötig'))""")
    expect(box).to_be_hidden()
    alarm = Alarm.objects.get()
    assert alarm.client_id.startswith("app-")
    # Retries of the same press never make a second alarm: it left the outbox when the server
    # confirmed it, so the next `online` event has nothing to send.
    assert sender.evaluate(OUTBOX) == 0
    sender.evaluate("() => window.dispatchEvent(new Event('online'))")
    assert sender.evaluate(OUTBOX) == 0
    assert Alarm.objects.count() == 1
    assert real_errors(sender) == []


def test_unanswered_visit_alarms_the_team(phone, app_server, people, screenshots):  # noqa: F811
    _, worker = phone(SENDER_AT)
    _, helper = phone(HELPER_AT)
    login(worker, app_server, people["sender"])
    login(helper, app_server, people["neighbour"])
    worker.get_by_role("button", name="Besuch").click()
    worker.get_by_label("Straße und Hausnummer").fill("Lindenweg 7")
    worker.get_by_label("PLZ").fill("12345")
    worker.get_by_label("Ort").fill("Teststadt")
    worker.get_by_label("Dauer").select_option("30")
    worker.get_by_role("button", name="Besuch starten").click()
    worker.get_by_text("läuft – Rückfrage um").wait_for()
    visit = Visit.objects.get()
    assert visit.address == "Lindenweg 7, 12345 Teststadt"
    screenshots.take(worker, "app-visit.png")
    start = visit.started_at

    def advance(minutes):
        visits.run_due(start + timedelta(minutes=minutes))
        worker.evaluate("() => window.dispatchEvent(new Event('focus'))")

    advance(25)
    ask = worker.locator("#visit-ask")
    ask.get_by_text("Alles in Ordnung?").wait_for()
    screenshots.take(worker, "app-visit-ask.png")
    advance(30)
    ask.get_by_text("Voralarm: Alles in Ordnung?").wait_for()
    screenshots.take(worker, "app-visit-prealarm.png")
    assert_accessible(worker)
    assert not Alarm.objects.exists()
    advance(32)
    worker.get_by_text("Alarm ausgelöst (Zeitalarm)").wait_for()
    alarm = Alarm.objects.get()
    assert alarm.template.code == "bedrohung"
    card = helper.locator(f"#rx-{alarm.pk}")
    card.wait_for(state="visible")
    assert "Zeitalarm Besuch: Lindenweg 7, 12345 Teststadt" in \
        card.locator('[data-f="place"]').inner_text()
    assert "Richtung Südwest" in card.locator('[data-f="distance"]').inner_text()
    visit.refresh_from_db()
    assert visit.state == Visit.State.ALARMED and visit.alarm_id == alarm.pk
    assert timezone.now() < start + timedelta(minutes=30)  # the real clock never got there
    assert real_errors(worker) == [] and real_errors(helper) == []


def test_hands_free_key_triggers_while_the_app_is_open(phone, app_server, people):  # noqa: F811
    _, sender = phone(SENDER_AT)
    login(sender, app_server, people["sender"])
    sender.get_by_role("button", name="Mehr").click()
    sender.get_by_role("button", name="Taste festlegen").click()
    sender.keyboard.press("AudioVolumeUp")
    sender.get_by_text("Gespeichert: „AudioVolumeUp“").wait_for()
    assert_accessible(sender)
    # Typing in a field does not trigger; the learned key anywhere else does, at once.
    sender.get_by_role("button", name="Besuch").click()
    sender.get_by_label("Ort").focus()
    sender.keyboard.press("AudioVolumeUp")
    assert sender.evaluate(OUTBOX) == 0  # the key's handler has run: nothing queued
    assert not Alarm.objects.exists()
    sender.locator("body").click(position={"x": 5, "y": 300})
    sender.keyboard.press("AudioVolumeUp")
    # Nobody else is online here, so "Alarm wurde ausgelöst." may already have given way to
    # "Niemand hat zugesagt" when the test looks: the sender's own alarm card is what stays.
    wait_until(lambda: Alarm.objects.exists(), "the hands-free alarm")
    alarm = Alarm.objects.get()
    assert alarm.source == "handsfree"
    sender.locator(f"#own-{alarm.pk}").wait_for(state="visible")
    assert real_errors(sender) == []


def test_nobody_online_red_coverage_and_niemand_hat_zugesagt_with_tel_110(
        phone, app_server, people, screenshots):  # noqa: F811
    """Issue 19: the phone shows before pressing that nobody is connected (red), and an alarm
    that reached nobody shows "Niemand hat zugesagt – rufen Sie 110" with a tel:110 button,
    never the green success."""
    _, sender = phone(SENDER_AT)
    login(sender, app_server, people["sender"])
    coverage = sender.locator("#coverage")
    expect(coverage).to_have_attribute("data-level", "red")
    expect(coverage).to_contain_text("Niemand ist gerade verbunden")
    assert_accessible(sender)
    screenshots.take(sender, "app-coverage-red.png")

    wait_until(lambda: Inbox.objects.filter(user=people["sender"],
                                            position_at__isnull=False).exists(),
               "the sender's first position fix")
    hold(sender)
    warning = sender.get_by_role("alert").filter(has_text="Niemand hat zugesagt")
    warning.wait_for(timeout=3000)
    assert warning.inner_text().startswith("Niemand hat zugesagt – rufen Sie 110")
    assert warning.get_by_role("link", name="110 anrufen").get_attribute("href") == "tel:110"
    assert "bs-result--ok" not in sender.locator("#alarm-result").get_attribute("class")
    expect(sender.get_by_text(re.compile("^Hilfe kommt:"))).to_have_count(0)
    assert_accessible(sender)
    screenshots.take(sender, "app-nobody.png")
    assert not real_errors(sender), sender.errors


def test_after_kann_nicht_the_alarm_screen_can_be_closed(phone, app_server, people):  # noqa: F811
    _, sender = phone(SENDER_AT)
    _, helper = phone(HELPER_AT)
    login(sender, app_server, people["sender"])
    login(helper, app_server, people["neighbour"])
    hold(sender)
    sender.get_by_text("Alarm wurde ausgelöst.").wait_for()
    screen = helper.locator("#incoming")
    screen.wait_for(state="visible")
    card = helper.locator(f"#rx-{Alarm.objects.get().pk}")
    # Unanswered, the screen cannot be closed.
    assert card.get_by_role("button", name="Alarm-Anzeige schließen").count() == 0
    card.get_by_role("button", name="Kann nicht").click()
    card.get_by_text("Ihre Antwort: Kann nicht.").wait_for()
    assert_accessible(helper)
    card.get_by_role("button", name="Alarm-Anzeige schließen").click()
    screen.wait_for(state="hidden")
    # The app is usable again while the alarm is still open for others.
    helper.get_by_role("button", name="Mehr").click()
    assert Alarm.objects.get().state == "triggered"
    assert real_errors(sender) == [] and real_errors(helper) == []
