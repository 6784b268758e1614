"""The answer page of an alarm SMS's one-time link in Chromium at phone width (390 px): the
minimum about the alarm and two big buttons, WCAG 2.1 AA (axe), no horizontal scrolling, no
console or CSP errors; "Ich komme" answers and the page then shows the answer; a wrong link gets
the German 404 page. Screenshots: docs/screenshots/answer-link-*.png."""

import re

import pytest
from playwright.sync_api import expect

from beistand.alarms import services
from beistand.alarms.models import AlarmRecipient, SmsMessage

# The alarm tests' organisation (sender, neighbour, far colleague with a mobile, security).
from tests.alarms.conftest import alarm_defaults, people  # noqa: F401
from tests.alarms.test_sms import set_tiers

pytestmark = [pytest.mark.browser, pytest.mark.screenshots,
              pytest.mark.django_db(transaction=True)]

PHONE_390 = {"width": 390, "height": 844}


def fits_width(bp):
    overflow = bp.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the viewport"


def test_the_answer_page_on_a_phone(open_page, live_server, people, web_settings,  # noqa: F811
                                    screenshots):
    web_settings.BASE_URL = live_server.url
    set_tiers({"kind": "people", "people": [people["far"]], "sms_when_offline": True},
              {"kind": "security"})
    alarm = services.trigger(user=people["sender"], template="beistand").alarm
    text = SmsMessage.objects.get(alarm=alarm, phone="+491712222222").text
    path = re.search(r"/a/[A-Za-z0-9_-]{22}$", text)[0]

    bp = open_page(viewport=PHONE_390)
    bp.goto(path)
    page = bp.page
    expect(page.get_by_role("heading", name=f"Alarm Nr. {alarm.pk}")).to_be_visible()
    coming = page.get_by_role("button", name="Ich komme")
    cannot = page.get_by_role("button", name="Kann nicht")
    expect(coming).to_be_visible()
    expect(cannot).to_be_visible()
    box = coming.bounding_box()
    assert box["width"] >= 300 and box["height"] >= 60  # big, for a thumb in a hurry
    fits_width(bp)
    bp.assert_accessible()
    screenshots.take(page, "answer-link-phone.png", full_page=True)

    coming.click()
    expect(page.get_by_text("Ihre Antwort: Ich komme")).to_be_visible()
    assert AlarmRecipient.objects.get(alarm=alarm, inbox__user=people["far"]).response == \
        "coming"
    expect(page.get_by_role("button", name="Ich komme")).to_have_attribute("aria-pressed",
                                                                          "true")
    fits_width(bp)
    bp.assert_accessible()
    screenshots.take(page, "answer-link-answered.png", full_page=True)
    bp.assert_no_console_errors()  # no CSP refusal, no script error

    bp.goto("/a/" + "A" * 22, expect_status=404)  # (the 404 itself is a console error)
    expect(page.get_by_role("heading", name="Link ungültig oder abgelaufen")).to_be_visible()
    fits_width(bp)
    bp.assert_accessible()
