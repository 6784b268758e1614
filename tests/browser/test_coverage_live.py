"""Issue 19, items 3 and 8 in Chromium against a real server (uvicorn with the alarm engine and
WebSocket, in a thread):

- the coverage indicator before pressing follows presence live, pushed by the server (frame
  ``coverage``), on the alarm page and in the phone app: red → yellow (the security service of
  tier 2 connects) → green (the neighbour of tier 1 connects), with the HTTP poll set to an hour
  and no poll made in between;
- the phone app asks for system notifications with an explanation at login, raises one for an
  incoming alarm while it is in the background, and closes it on the all-clear and on the
  answer (``window.Notification`` wrapped by an init script that records what the app does);
- the all-clear as the receivers see it, on the page and in the app.

Documentation screenshots: alarm-coverage-{yellow,green}-desktop.png, app-coverage-{yellow,
green}.png, alarm-all-clear-desktop.png, app-all-clear.png (phone: 390 px wide).
"""

import re

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client
from playwright.sync_api import expect

from beistand.alarms import services, views
from beistand.alarms.models import AlarmPlan, AlarmTier
from tests.alarms.conftest import ServerThread, alarm_defaults, people  # noqa: F401
from tests.browser.conftest import DESKTOP, BrowserPage, _axe_source
from tests.browser.test_mobile_app import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}
COVERAGE_API = "/api/v1/alarms/coverage"
PUSHED_MS = 10_000  # the push comes within about a second; the poll would take an hour


@pytest.fixture
def plan(people):  # noqa: F811
    """Neighbours within 10 m → the security service (last resort: SMS to the offline)."""
    with transaction.atomic():
        plan = AlarmPlan.objects.get(scope="default")
        plan.tiers.all().delete()
        AlarmTier.objects.create(plan=plan, order=1, kind="neighbours", radius_m=10,
                                 timeout_s=60, acks_needed=1)
        AlarmTier.objects.create(plan=plan, order=2, kind="security", timeout_s=60,
                                 acks_needed=1, sms_when_offline=True)
    return plan


@pytest.fixture
def live(transactional_db, web_settings, monkeypatch):
    # The HTTP fallback once an hour: whatever changes the indicator in these tests is pushed.
    monkeypatch.setattr(views, "COVERAGE_REFRESH_SECONDS", 3600)
    srv = ServerThread().start()
    yield srv
    srv.stop()


@pytest.fixture
def contexts(browser, live):
    axe = _axe_source()
    made = []

    def make(viewport=None, permissions=(), init=None):
        context = browser.new_context(viewport=viewport or DESKTOP, locale="de-DE",
                                      timezone_id="Europe/Berlin", has_touch=viewport is not None,
                                      device_scale_factor=1)
        made.append(context)
        context.add_init_script(script=axe)
        if init:
            context.add_init_script(script=init)
        if permissions:
            context.grant_permissions(list(permissions), origin=live.http)
        return context

    yield make
    for context in made:
        context.close()


def web_page(contexts, live, user, viewport=None) -> BrowserPage:
    context = contexts(viewport)
    client = Client()
    client.force_login(user)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live.http}])
    return BrowserPage(context.new_page(), live.http)


def count_polls(page) -> list:
    polls = []
    page.on("request", lambda r: COVERAGE_API in r.url and polls.append(r.url))
    return polls


def app_phone(contexts, live, user, **options):
    page = contexts(PHONE_390, **options).new_page()
    polls = count_polls(page)
    login(page, live, user)
    return page, polls


def test_alarm_page_coverage_turns_yellow_then_green_by_push(contexts, live, people, plan,  # noqa: F811
                                                             screenshots):
    sender = web_page(contexts, live, people["sender"])
    polls = count_polls(sender.page)
    sender.goto("/alarm/")
    coverage = sender.page.locator("#alarm-coverage")
    expect(coverage).to_have_attribute("data-level", "red")
    sender.page.get_by_text("Empfang aktiv").wait_for()
    asked = len(polls)
    assert asked <= 1  # the start

    guard = web_page(contexts, live, people["security"])
    guard.goto("/alarm/")
    expect(coverage).to_have_attribute("data-level", "yellow", timeout=PUSHED_MS)
    expect(coverage).to_contain_text("erreicht erst Stufe 2 (Sicherheitsdienst)")
    sender.assert_accessible()
    screenshots.take(sender.page, "alarm-coverage-yellow-desktop.png")

    neighbour = web_page(contexts, live, people["neighbour"])
    neighbour.goto("/alarm/")
    expect(coverage).to_have_attribute("data-level", "green", timeout=PUSHED_MS)
    expect(coverage).to_have_text(re.compile(r"Ihr Alarm erreicht jetzt sofort 1 Person "
                                             r"\(Stufe 1\)\."))
    screenshots.take(sender.page, "alarm-coverage-green-desktop.png")
    neighbour.page.close()  # the neighbour's PC goes: back to yellow, pushed as well
    expect(coverage).to_have_attribute("data-level", "yellow", timeout=PUSHED_MS)
    assert len(polls) == asked, polls  # no HTTP poll in between: every change was pushed
    for page in (sender, guard):
        page.assert_no_console_errors()


def test_phone_app_coverage_turns_yellow_then_green_by_push(contexts, live, people, plan,  # noqa: F811
                                                            screenshots):
    sender, polls = app_phone(contexts, live, people["sender"])
    coverage = sender.locator("#coverage")
    expect(coverage).to_have_attribute("data-level", "red")
    asked = len(polls)
    # Asked at login, with the reason (the browser has not decided yet).
    gate = sender.locator("#notify-gate")
    expect(gate).to_be_visible()
    expect(gate).to_contain_text("wenn die App im Hintergrund ist oder das Display aus")
    expect(gate.get_by_role("button", name="Benachrichtigungen erlauben")).to_be_visible()

    app_phone(contexts, live, people["security"])
    expect(coverage).to_have_attribute("data-level", "yellow", timeout=PUSHED_MS)
    expect(coverage).to_contain_text("Stufe 2 (Sicherheitsdienst)")
    screenshots.take(sender, "app-coverage-yellow.png")

    app_phone(contexts, live, people["neighbour"])
    expect(coverage).to_have_attribute("data-level", "green", timeout=PUSHED_MS)
    expect(coverage).to_contain_text("Ihr Alarm erreicht jetzt sofort 1 Person (Stufe 1).")
    screenshots.take(sender, "app-coverage-green.png")
    assert len(polls) == asked, polls


# Records every notification the page creates and closes (the real constructor still runs), and
# lets the test say the page is in the background (headless Chromium always reports "visible").
NOTIFICATIONS = """(() => {
  const Real = window.Notification;
  window.__notes = [];
  window.__hidden = false;
  Object.defineProperty(document, "hidden", {get: () => window.__hidden});
  Object.defineProperty(document, "visibilityState",
                        {get: () => (window.__hidden ? "hidden" : "visible")});
  if (!Real) { return; }
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      const note = {title, body: (options || {}).body, tag: (options || {}).tag, closed: false};
      window.__notes.push(note);
      const close = this.close.bind(this);
      this.close = () => { note.closed = true; close(); };
    }
    static get permission() { return Real.permission; }
    static requestPermission(...args) { return Real.requestPermission(...args); }
  }
  window.Notification = Recorded;
})();"""


def test_phone_app_notifies_an_alarm_in_the_background_and_closes_it(contexts, live, people,  # noqa: F811
                                                                    plan, screenshots):
    receiver, _polls = app_phone(contexts, live, people["neighbour"],
                                 permissions=["notifications"], init=NOTIFICATIONS)
    assert receiver.evaluate("Notification.permission") == "granted"
    expect(receiver.locator("#notify-gate")).to_be_hidden()  # allowed: nothing to ask
    notes = "() => window.__notes"

    # 1. In the background: an alarm raises a notification; the all-clear closes it and the
    # receive screen says "Entwarnung" (it does not just vanish).
    receiver.evaluate("window.__hidden = true")
    first = services.trigger(user=people["sender"], template="beistand", client_id="n1").alarm
    receiver.wait_for_function("() => window.__notes.length === 1")
    note = receiver.evaluate(notes)[0]
    assert note["title"] == "ALARM: Beistand"
    assert note["body"].startswith("Erika Sender – Raum 1.01") and not note["closed"]
    assert note["tag"] == f"beistand-alarm-{first.pk}"
    services.resolve(people["sender"], first.pk, "Lage geklärt")
    receiver.wait_for_function("() => window.__notes[0].closed")
    receiver.evaluate("window.__hidden = false")
    ended = receiver.locator(f"#rx-{first.pk}")
    expect(ended).to_contain_text("Entwarnung – Alarm beendet durch Erika Sender: Lage geklärt.")
    screenshots.take(receiver, "app-all-clear.png")
    ended.get_by_role("button", name="Schließen").click()

    # 2. Answered: "Ich komme" closes the notification.
    receiver.evaluate("window.__hidden = true")
    second = services.trigger(user=people["sender"], template="beistand", client_id="n2").alarm
    receiver.wait_for_function("() => window.__notes.length === 2")
    receiver.locator(f"#rx-{second.pk}").get_by_role("button", name="Ich komme").click()
    receiver.wait_for_function("() => window.__notes[1].closed")

    # 3. In the foreground the receive screen is enough: no notification.
    receiver.evaluate("window.__hidden = false")
    services.resolve(people["sender"], second.pk, "")
    third = services.trigger(user=people["sender"], template="beistand", client_id="n3").alarm
    expect(receiver.locator(f"#rx-{third.pk}")).to_be_visible()
    assert len(receiver.evaluate(notes)) == 2


def test_alarm_page_shows_the_all_clear_as_such(contexts, live, people, plan,  # noqa: F811
                                                screenshots):
    receiver = web_page(contexts, live, people["neighbour"])
    receiver.goto("/alarm/")
    receiver.page.get_by_text("Empfang aktiv").wait_for()
    alarm = services.trigger(user=people["sender"], template="beistand", client_id="w1").alarm
    receiver.page.locator(f"#alarm-panel-{alarm.pk}").wait_for()
    services.resolve(people["sender"], alarm.pk, "Kunde ist gegangen")
    note = receiver.page.locator(f"#alarm-ended-{alarm.pk}")
    expect(note).to_contain_text(
        "Entwarnung – Alarm beendet durch Erika Sender: Kunde ist gegangen.")
    expect(receiver.page.locator(f"#alarm-panel-{alarm.pk}")).to_have_count(0)
    receiver.assert_accessible()
    screenshots.take(receiver.page, "alarm-all-clear-desktop.png")
    receiver.assert_no_console_errors()
