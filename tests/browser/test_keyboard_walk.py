"""Keyboard only: reporting an incident, a register look-up with purpose, and an alarm received on
the /alarm/ page, answered "Ich komme" and closed with the all-clear. Only keyboard events (Tab,
Shift+Tab, Enter, Space, typing) are used, and every element that gets the focus on the way must
show it (an outline or a focus ring of box-shadow, computed on the focused element).

Against a real uvicorn server with the alarm WebSocket, privileged roles with their second
factor (see tests/browser/pages.py)."""

import re

import pytest
from playwright.sync_api import expect

from beistand.alarms.models import Alarm
from beistand.reports.models import Report
from tests.browser.pages import (  # noqa: F401
    contexts,
    make_objects,
    seed_catalogues,
    site,
    site_settings,
)
from tests.web.people import make_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
    const ring = s.boxShadow && s.boxShadow !== 'none';
    const r = el.getBoundingClientRect();
    const label = (el.labels && el.labels[0] ? el.labels[0].textContent : '')
        || el.getAttribute('aria-label') || el.textContent || el.name || '';
    return {tag: el.tagName.toLowerCase(), id: el.id, type: el.type || '',
            role: el.getAttribute('role') || '',
            name: label.replace(/\\s+/g, ' ').trim().slice(0, 80),
            shown: outline || ring, size: r.width > 0 && r.height > 0};
}"""
MAX_TABS = 150


class Keyboard:
    def __init__(self, bp):
        self.bp = bp
        self.page = bp.page
        self.seen: list[dict] = []

    def focused(self) -> dict | None:
        return self.page.evaluate(FOCUSED)

    def assert_visible_focus(self, el):
        assert el["shown"] and el["size"], f"focus not visible on {el}"

    def tab_to(self, matches, back=False) -> dict:
        """Tab (or Shift+Tab) until the focused element matches; each stop shows its focus."""
        for _ in range(MAX_TABS):
            self.page.keyboard.press("Shift+Tab" if back else "Tab")
            el = self.focused()
            if el is None:
                continue
            self.seen.append(el)
            self.assert_visible_focus(el)
            if matches(el):
                return el
        raise AssertionError(f"never reached the element; focus went through {self.seen[-20:]}")

    def type(self, text):
        self.page.keyboard.type(text)

    def press(self, key):
        self.page.keyboard.press(key)


def by_id(element_id):
    return lambda el: el["id"] == element_id


def by_name(pattern, tag=None):
    return lambda el: re.search(pattern, el["name"]) and (tag is None or el["tag"] == tag)


@pytest.fixture
def cast(org, make_user):
    seed_catalogues()
    people = make_people(org, make_user)
    return people, make_objects(people)


def test_report_an_incident_by_keyboard(contexts, cast):  # noqa: F811
    people, _ = cast
    before = Report.objects.count()
    kb = Keyboard(contexts(people["melder"]))
    kb.bp.goto("/")
    kb.tab_to(by_name("^Vorfall melden", "a"))
    kb.press("Enter")
    kb.page.wait_for_url("**/meldungen/neu/")
    kb.tab_to(lambda el: el["type"] == "checkbox" and el["name"].startswith("Bedrohung"))
    kb.press("Space")
    expect(kb.page.get_by_label("Bedrohung")).to_be_checked()
    kb.tab_to(lambda el: el["tag"] == "textarea" and "Schilderung" in el["name"])
    kb.type("Der Kunde drohte mir am Schalter, mich nach Dienstschluss abzufangen.")
    kb.tab_to(by_id("id_p-0-last_name"))
    kb.type("Mustermann")
    # One step back and forth: Shift+Tab works as well.
    kb.tab_to(lambda el: el["tag"] in ("input", "textarea", "select"), back=True)
    kb.tab_to(by_id("id_p-0-last_name"))
    kb.tab_to(by_id("id_p-0-first_names"))
    kb.type("Max")
    kb.tab_to(by_name("^Meldung absenden$", "button"))
    kb.press("Enter")
    kb.page.wait_for_url(re.compile(r"/meldungen/\d+/"))
    assert Report.objects.count() == before + 1
    report = Report.objects.order_by("-pk").first()
    assert report.status != "draft" and report.description.startswith("Der Kunde drohte")


def test_register_look_up_with_purpose_by_keyboard(contexts, cast):  # noqa: F811
    people, _ = cast
    kb = Keyboard(contexts(people["abfrage"]))
    kb.bp.goto("/")
    kb.tab_to(by_name("Person vor dem Termin prüfen", "a"))
    kb.press("Enter")
    kb.page.wait_for_url("**/register/auskunft/")
    kb.tab_to(lambda el: el["name"].startswith("Zweck der Abfrage"))
    kb.type("Az. 51/4-123, Hausbesuch am 24.11.")
    kb.tab_to(lambda el: el["tag"] == "input" and re.match(r"Name\b", el["name"]))
    kb.type("Meier")
    kb.tab_to(lambda el: el["name"].startswith("Vorname"))
    kb.type("Jürgen")
    kb.tab_to(by_name("Im Register prüfen", "button"))
    kb.press("Enter")
    alert = kb.page.get_by_role("alert")
    alert.wait_for()
    assert "Eintragung gefunden" in alert.inner_text()
    kb.tab_to(lambda el: el["tag"] == "button" and el["id"] == "" and
              kb.page.evaluate("() => !!document.activeElement.closest('article.bs-reg-card')"))
    kb.press("Enter")
    kb.page.wait_for_url("**/auskunft/details/")
    assert "Bedrohung" in kb.page.locator("main").inner_text()


def test_alarm_received_answered_and_all_clear_by_keyboard(contexts, cast):  # noqa: F811
    people, objects = cast
    from beistand.alarms import services as alarms

    alarms.resolve(people["melder"], objects["alarm"].pk)  # the cast's alarm is over
    receiver = Keyboard(contexts(people["kollege1"]))
    sender = Keyboard(contexts(people["melder"]))
    for kb in (receiver, sender):
        kb.bp.goto("/alarm/")
        kb.page.get_by_text("Empfang aktiv").wait_for()
    # The sender raises the alarm by keyboard too (Beistand is preselected).
    sender.tab_to(by_name("Alarm auslösen", "button"))
    sender.press("Enter")
    sender.page.get_by_text("Alarm wurde ausgelöst.").wait_for()

    panel = receiver.page.get_by_role("alertdialog")
    panel.wait_for()
    el = receiver.focused()
    assert el is not None and el["role"] == "alertdialog"  # the panel takes the focus
    receiver.tab_to(by_name("^Ich komme$", "button"))
    receiver.press("Enter")
    panel.get_by_text("Ihre Antwort: Ich komme").wait_for()
    sender.page.get_by_text("Hilfe kommt: Kim Krause").wait_for()

    sender.tab_to(by_name("Entwarnung geben", "button"), back=True)
    sender.press("Space")
    receiver.page.get_by_text(re.compile("^Entwarnung – Alarm beendet durch")).wait_for()
    receiver.page.get_by_text(re.compile("^Beistand von")).wait_for()
    expect(receiver.page.get_by_role("alertdialog")).to_have_count(0)
    alarm = Alarm.objects.exclude(pk=objects["alarm"].pk).get()
    assert alarm.state == "resolved" and alarm.first_ack_at is not None
