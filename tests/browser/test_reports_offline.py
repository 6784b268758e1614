"""The report form keeps a local draft and sends it when the connection is back (Chromium)."""

import re

import pytest
from playwright.sync_api import expect

from beistand.reports.models import Report, Status
from tests.browser.conftest import PHONE
from tests.browser.test_reports_ui import catalogue, fill_level_two_report  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OFFLINE = "Keine Verbindung – die Meldung wird gesendet, sobald Sie wieder online sind"


def draft_of(bp, user):
    return bp.page.evaluate(
        "(key) => JSON.parse(localStorage.getItem(key))",
        f"beistand:report-draft:u{user.pk}:neu")


def test_offline_submit_is_kept_and_sent_when_back_online(open_page, people):
    melder = people["melder"]
    bp = open_page(viewport=PHONE, user=melder)
    bp.goto("/meldungen/neu/")
    context = bp.page.context
    context.set_offline(True)
    bp.page.wait_for_function("() => navigator.onLine === false")
    fill_level_two_report(bp.page, "Offline gemeldet: Drohung an der Haustür.")
    bp.page.get_by_role("button", name="Meldung absenden").click()
    status = bp.page.locator("#draft-status")
    status.get_by_text(OFFLINE).wait_for()
    draft = draft_of(bp, melder)
    assert draft["pending"] is True and draft["intent"] == "submit"
    assert ["description", "Offline gemeldet: Drohung an der Haustür."] in draft["fields"]
    assert ["offences", "threat"] in draft["fields"]
    assert Report.objects.count() == 0

    context.set_offline(False)  # fires the `online` event
    status.get_by_text("ist gesendet").wait_for()
    report = Report.objects.get()
    assert report.status == Status.SUBMITTED
    assert report.description == "Offline gemeldet: Drohung an der Haustür."
    assert report.perpetrators.get().last_name == "Mustermann"
    assert draft_of(bp, melder) is None
    expect(status.get_by_role("link", name=f"Meldung {report.reference} ansehen")).to_be_visible()
    bp.assert_no_console_errors()


def test_network_error_on_submit_keeps_the_draft(open_page, people):
    """navigator.onLine may say "online" while the request still fails (dead Wi-Fi)."""
    melder = people["melder"]
    bp = open_page(viewport=PHONE, user=melder)
    bp.goto("/meldungen/neu/")
    bp.page.route("**/meldungen/neu/", lambda route: route.abort("internetdisconnected"))
    fill_level_two_report(bp.page)
    bp.page.get_by_role("button", name="Meldung absenden").click()
    bp.page.locator("#draft-status").get_by_text(OFFLINE).wait_for()
    assert draft_of(bp, melder)["pending"] is True
    assert Report.objects.count() == 0
    bp.page.unroute("**/meldungen/neu/")
    bp.page.evaluate("() => window.dispatchEvent(new Event('online'))")
    bp.page.locator("#draft-status").get_by_text("ist gesendet").wait_for()
    assert Report.objects.get().status == Status.SUBMITTED
    assert draft_of(bp, melder) is None
    # The aborted request is the only expected console entry.
    assert all("ERR_INTERNET_DISCONNECTED" in e for e in bp.console_errors), bp.console_errors


def test_draft_is_restored_after_reload_and_can_be_discarded(open_page, people):
    melder = people["melder"]
    bp = open_page(viewport=PHONE, user=melder)
    bp.goto("/meldungen/neu/")
    fill_level_two_report(bp.page, "Noch nicht fertig.")
    bp.page.get_by_role("button", name="Weitere Person hinzufügen").click()
    bp.page.locator("#id_p-1-last_name").fill("Zweitperson")
    bp.page.get_by_label("Im Außendienst").check()
    bp.page.get_by_label("Adresse des Einsatzortes").fill("Am Markt 1")

    bp.page.reload()
    status = bp.page.locator("#draft-status")
    status.get_by_text("Entwurf wiederhergestellt").wait_for()
    assert bp.page.get_by_label("Schilderung").input_value() == "Noch nicht fertig."
    assert bp.page.locator("#id_p-1-last_name").input_value() == "Zweitperson"
    assert bp.page.get_by_label("Bedrohung").is_checked()
    assert bp.page.get_by_label("Im Außendienst").is_checked()
    assert bp.page.get_by_label("Adresse des Einsatzortes").input_value() == "Am Markt 1"
    bp.assert_accessible()

    status.get_by_role("button", name="Entwurf verwerfen").click()
    status.get_by_text("Entwurf verworfen").wait_for()
    assert bp.page.get_by_label("Schilderung").input_value() == ""
    expect(bp.page.locator("#id_p-1-last_name")).to_have_count(0)
    assert draft_of(bp, melder) is None
    assert Report.objects.count() == 0
    bp.assert_no_console_errors()


def test_saved_report_clears_the_local_draft(open_page, people):
    melder = people["melder"]
    bp = open_page(viewport=PHONE, user=melder)
    bp.goto("/meldungen/neu/")
    fill_level_two_report(bp.page)
    assert draft_of(bp, melder) is not None
    bp.page.get_by_role("button", name="Als Entwurf speichern").click()
    bp.page.wait_for_url(re.compile(r".*/meldungen/\d+/$"))
    assert Report.objects.get().status == Status.DRAFT
    assert draft_of(bp, melder) is None
    bp.goto("/meldungen/neu/")
    assert bp.page.locator("#draft-status").inner_text().strip() == ""
