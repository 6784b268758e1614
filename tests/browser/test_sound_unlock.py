"""Before any alarm comes, a browser that blocks sound until a click says so: the alarm page and
the phone app show "Ton aktivieren" after login; the click unlocks audio and the notice goes.
Chromium runs here with the strict autoplay policy (sound only after a click on the document),
as a browser with default settings does on a page the user has not used yet."""

import json

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.alarms.conftest import ServerThread, alarm_defaults, people  # noqa: F401
from tests.browser.conftest import (
    AXE_TAGS,
    CHROMIUM_ARGS,
    DESKTOP,
    WAIT_MS,
    _axe_source,
    _chromium_path,
)
from tests.browser.test_mobile_app import app_server, login, unit_plan  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STRICT_AUTOPLAY = "--autoplay-policy=document-user-activation-required"
PHONE_390 = {"width": 390, "height": 844}  # the documentation screenshot's phone

# Headless Chromium does not hold to the strict policy every time: a fresh context's new
# AudioContext was "running" without any click in 2 of 5 runs here. This makes the page's
# AudioContext behave as the policy says, every time: suspended until the page has had a real
# (trusted) click or key press, resumable only after one. The application code is unchanged.
SOUND_NEEDS_A_CLICK = """(() => {
  const Native = window.AudioContext;
  if (!Native) { return; }
  let clicked = false;
  ["pointerdown", "mousedown", "click", "keydown", "touchstart"].forEach((type) => {
    window.addEventListener(type, (e) => { if (e.isTrusted) { clicked = true; } }, true);
  });
  window.AudioContext = class extends Native {
    constructor(...args) {
      super(...args);
      if (!clicked) { super.suspend(); }
    }
    resume() { return clicked ? super.resume() : Promise.resolve(); }
  };
})();"""


@pytest.fixture(scope="module")
def browser():
    """This module's Chromium: the strict autoplay policy (the shared one plays sound freely)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=_chromium_path(),
                                              args=[*CHROMIUM_ARGS, STRICT_AUTOPLAY],
                                              headless=True)
        yield instance
        instance.close()


@pytest.fixture
def live(transactional_db, web_settings):
    srv = ServerThread().start()
    yield srv
    srv.stop()



def assert_accessible(page):
    violations = page.evaluate(
        """async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))
            .violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))""",
        AXE_TAGS)
    assert not violations, violations


def test_alarm_page_asks_to_enable_sound_and_the_click_unlocks_it(browser, live, people,  # noqa: F811
                                                                  screenshots):
    context = browser.new_context(viewport=DESKTOP, locale="de-DE", timezone_id="Europe/Berlin")
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(script=_axe_source())
    context.add_init_script(script=SOUND_NEEDS_A_CLICK)
    client = Client()
    client.force_login(people["neighbour"])
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live.http}])
    page = context.new_page()
    try:
        page.goto(live.http + "/alarm/")
        button = page.get_by_role("button", name="Ton aktivieren")
        button.wait_for(state="visible")
        page.get_by_text("Der Browser spielt Alarmtöne erst nach einem Klick ab").wait_for()
        # Not yet decided: system notifications are asked for, with the reason.
        page.get_by_role("button", name="Benachrichtigungen erlauben").wait_for(state="visible")
        page.get_by_text("wenn dieses Fenster im Hintergrund liegt").wait_for()
        assert_accessible(page)
        page.get_by_text("Empfang aktiv").wait_for()
        screenshots.take(page, "alarm-sound-unlock-desktop.png")
        button.click()
        page.locator("#alarm-sound").wait_for(state="hidden")
        page.wait_for_function("() => !document.querySelector('[data-sound-enable]').offsetParent")
    finally:
        context.close()


def test_phone_app_asks_to_enable_sound_after_login(browser, app_server, people,  # noqa: F811
                                                    screenshots):
    # The login's clicks happen in a browser context of their own: a click is a user activation,
    # and what Chromium carries over from it within one context is not this test's subject.
    paired = browser.new_context(viewport=PHONE_390, locale="de-DE",
                                 timezone_id="Europe/Berlin", has_touch=True)
    paired.set_default_timeout(WAIT_MS)
    first = paired.new_page()
    login(first, app_server, people["neighbour"])
    token = first.evaluate("() => localStorage.getItem('beistand.app.token')")
    paired.close()
    assert token
    # The app opened later, as from the home screen: paired, but not a single click yet.
    context = browser.new_context(viewport=PHONE_390, locale="de-DE",
                                  timezone_id="Europe/Berlin", has_touch=True)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(script=_axe_source())
    context.add_init_script(script=SOUND_NEEDS_A_CLICK)
    context.add_init_script(
        script=f"localStorage.setItem('beistand.app.token', {json.dumps(token)});")
    page = context.new_page()
    try:
        page.goto(app_server.http + "/app/")
        page.locator("#screen-alarm").wait_for(state="visible")
        gate = page.locator("#sound-gate")
        button = gate.get_by_role("button", name="Ton aktivieren")
        button.wait_for(state="visible")
        assert_accessible(page)
        page.wait_for_selector('#conn[data-state="online"]')
        screenshots.take(page, "app-sound-unlock.png")
        button.click()
        gate.wait_for(state="hidden")
    finally:
        context.close()


def test_alarm_page_does_not_ask_again_once_notifications_are_allowed(browser, live, people):  # noqa: F811
    context = browser.new_context(viewport=DESKTOP, locale="de-DE", timezone_id="Europe/Berlin")
    context.set_default_timeout(WAIT_MS)
    context.grant_permissions(["notifications"], origin=live.http)
    context.add_init_script(script=SOUND_NEEDS_A_CLICK)
    client = Client()
    client.force_login(people["neighbour"])
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live.http}])
    page = context.new_page()
    try:
        page.goto(live.http + "/alarm/")
        page.get_by_role("button", name="Ton aktivieren").wait_for(state="visible")
        assert page.evaluate("Notification.permission") == "granted"
        assert page.locator("#alarm-notify").is_hidden()
    finally:
        context.close()
