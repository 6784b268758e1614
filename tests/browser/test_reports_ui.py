"""The report pages in Chromium: a level-2 report walked through by four roles, WCAG 2.1 AA
(axe) at desktop and phone width, the form without JavaScript, and the documentation screenshots.
"""

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from beistand.register.models import RegisterEntry
from beistand.reports import help as help_service
from beistand.reports import services
from beistand.reports.models import Report, Status
from tests.browser.conftest import DESKTOP, PHONE
from tests.reports.conftest import report_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]


@pytest.fixture(autouse=True)
def catalogue(transactional_db):
    """Transactional tests end with a flush that also removes the seeded catalogue rows."""
    from beistand.reports import catalogue as seed
    from beistand.reports.models import HelpOffer, Offence

    for sort, (code, label, level, attack) in enumerate(seed.OFFENCES):
        Offence.objects.get_or_create(code=code, defaults={
            "label": label, "level": level, "attack": attack, "sort": sort})
    for sort, (code, label, unit_code, description) in enumerate(seed.HELP_OFFERS):
        HelpOffer.objects.get_or_create(code=code, defaults={
            "label": label, "unit_code": unit_code, "description": description, "sort": sort})


def assert_fits_width(bp):
    overflow = bp.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow}px wider than the viewport"


def fill_level_two_report(page, description="Der Kunde drohte, mich nach Dienstschluss "
                                            "abzufangen."):
    page.get_by_label("Bedrohung").check()
    page.get_by_label("Schilderung").fill(description)
    page.locator("#id_p-0-last_name").fill("Mustermann")
    page.locator("#id_p-0-first_names").fill("Max")
    page.locator("#id_p-0-date_of_birth").fill("1980-04-01")


def test_level_two_report_walks_through_four_roles(open_page, people):
    # 1. The reporter reports from the phone.
    melder = open_page(viewport=PHONE, user=people["melder"])
    melder.goto("/")
    melder.page.get_by_role("link", name="Vorfall melden").first.click()
    melder.page.wait_for_url("**/meldungen/neu/")
    fill_level_two_report(melder.page)
    melder.page.get_by_label("Psychosoziale Unterstützung").check()
    melder.page.get_by_role("button", name="Meldung absenden").click()
    melder.page.wait_for_url(re.compile(r".*/meldungen/\d+/$"))
    report = Report.objects.get()
    assert report.status == Status.SUBMITTED and report.hazard_level == 2
    assert "ist abgesendet" in melder.page.locator("main").inner_text()
    melder.assert_no_console_errors()
    case = f"/meldungen/{report.pk}/"

    # 2. The supervisor releases it from the work queue.
    chefin = open_page(user=people["vorgesetzte"])
    chefin.goto("/meldungen/arbeitsliste/")
    chefin.page.get_by_role("link", name=report.reference).click()
    chefin.page.wait_for_url(f"**{case}")
    chefin.page.locator("#action-release").get_by_role("button", name="Freigeben").click()
    chefin.page.get_by_text("Neuer Status: freigegeben").wait_for()

    # 3. Personnel management records the criminal complaint.
    personal = open_page(user=people["personal"])
    personal.goto(case)
    form = personal.page.locator("#action-file_complaint")
    form.get_by_role("button", name="Anzeige erfassen").click()
    personal.page.get_by_text("Bitte Aktenzeichen der Strafanzeige").first.wait_for()
    assert Report.objects.get().status == Status.RELEASED
    personal.page.get_by_label("Aktenzeichen der Strafanzeige").fill("KK 123/26")
    personal.page.locator("#action-file_complaint").get_by_role(
        "button", name="Anzeige erfassen").click()
    personal.page.get_by_text("Neuer Status: Anzeige erstattet").wait_for()

    # 4. The ZKS publishes after reading what will be published.
    zks = open_page(user=people["zks"])
    zks.goto(case)
    box = zks.page.locator("#publish-explained").inner_text()
    assert "Mustermann, Max (geb. 01.04.1980)" in box and "Gefährdungsstufe 2" in box
    assert "Angaben zur meldenden Person" in box
    zks.page.get_by_label("Ich habe die Meldung geprüft").check()
    zks.page.locator("#action-publish").get_by_role(
        "button", name="Im Register veröffentlichen").click()
    zks.page.get_by_text("Neuer Status: veröffentlicht").wait_for()
    report.refresh_from_db()
    assert report.status == Status.PUBLISHED and RegisterEntry.objects.count() == 1

    # The reporter sees what became of it.
    melder.goto("/meldungen/")
    melder.page.get_by_text("Verlauf (5 Schritte)").click()
    timeline = melder.page.locator(".bs-timeline").inner_text()
    for step in ("Eingereicht", "freigegeben", "Strafanzeige", "veröffentlicht"):
        assert step in timeline
    # The refused complaint (no file number) answered 400 on purpose; nothing else may fail.
    personal.console_errors = [e for e in personal.console_errors if "status of 400" not in e]
    for bp in (chefin, personal, zks):
        bp.assert_no_console_errors()


def _prepared(people):
    """Reports by the cast's reporter in each step; the oldest waiting one is overdue."""
    melder = people["melder"]
    now = timezone.now()
    made = {
        "submitted": services.create_report(
            melder, report_input(occurred_at=now - timedelta(hours=30)), submit=True),
        "insult": services.create_report(
            melder, report_input(("insult",), occurred_at=now - timedelta(hours=3)),
            submit=True),
        "violence": services.create_report(
            melder, report_input(("physical_violence", "threat"),
                                 occurred_at=now - timedelta(hours=5)), submit=True),
        "released": services.create_report(melder, report_input(), submit=True),
        "filed": services.create_report(melder, report_input(), submit=True),
    }
    services.transition(people["vorgesetzte"], made["released"].pk, "release", {})
    services.transition(people["vorgesetzte"], made["filed"].pk, "release", {})
    services.transition(people["personal"], made["filed"].pk, "file_complaint",
                        {"police_file_number": "KK 7/26"})
    Report.objects.filter(pk=made["submitted"].pk).update(due_at=now - timedelta(hours=6))
    help_service.request_help(melder, made["filed"].pk, ["security_advice", "psychosocial"])
    return made


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_report_pages_are_accessible(open_page, people, viewport):
    made = _prepared(people)
    pages = [
        ("melder", "/meldungen/neu/"),
        ("melder", "/meldungen/"),
        ("melder", f"/meldungen/{made['submitted'].pk}/"),
        ("vorgesetzte", "/meldungen/arbeitsliste/"),
        ("vorgesetzte", f"/meldungen/{made['submitted'].pk}/"),
        ("personal", f"/meldungen/{made['released'].pk}/"),
        ("zks", f"/meldungen/{made['filed'].pk}/"),
        ("zks", "/meldungen/ueberfaellig/"),
        ("zks", "/meldungen/hilfe/"),
        ("melder", "/meldungen/hilfe/"),
        ("melder", f"/meldungen/{made['filed'].pk}/"),
        ("vorgesetzte", "/"),
        ("zks", "/"),
    ]
    for username, path in pages:
        bp = open_page(viewport=viewport, user=people[username])
        bp.goto(path)
        if path == "/meldungen/":
            bp.page.locator("summary").first.click()  # the timeline, opened
        bp.assert_accessible()
        assert_fits_width(bp)
        bp.assert_no_console_errors()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_form_with_errors_is_accessible_and_links_to_fields(open_page, people, viewport):
    bp = open_page(viewport=viewport, user=people["melder"])
    bp.goto("/meldungen/neu/")
    bp.page.get_by_role("button", name="Meldung absenden").click()
    summary = bp.page.locator("#error-summary")
    summary.wait_for()
    assert "Bitte wählen Sie mindestens ein Delikt aus." in summary.inner_text()
    assert Report.objects.count() == 0
    bp.assert_accessible()
    assert_fits_width(bp)
    summary.get_by_role("link", name=re.compile("Was ist passiert")).click()
    expect(bp.page.locator("#id_offences_0")).to_be_focused()


def test_office_and_field_switch_and_location_button(open_page, people, browser):
    bp = open_page(viewport=PHONE, user=people["melder"])
    bp.page.context.grant_permissions(["geolocation"])
    bp.page.context.set_geolocation({"latitude": 50.9375, "longitude": 6.9603, "accuracy": 12})
    bp.goto("/meldungen/neu/")
    expect(bp.page.locator("#id_address")).to_be_hidden()
    bp.page.get_by_label("Im Außendienst").check()
    expect(bp.page.locator("#id_room")).to_be_hidden()
    bp.page.get_by_role("button", name="Standort übernehmen").click()
    bp.page.get_by_text("Standort übernommen").wait_for()
    expect(bp.page.locator("#id_lat")).to_have_value("50.937500")
    bp.page.get_by_label("Adresse des Einsatzortes").fill("Hauptstraße 5, Teststadt")
    fill_level_two_report(bp.page)
    bp.page.get_by_role("button", name="Meldung absenden").click()
    bp.page.wait_for_url(re.compile(r".*/meldungen/\d+/$"))
    report = Report.objects.get()
    assert report.location_kind == "field" and float(report.longitude) == pytest.approx(6.9603)
    bp.assert_no_console_errors()


def test_form_works_without_javascript(browser, live_server, web_settings, people):
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, locale="de-DE")
    try:
        client = Client()
        client.force_login(people["melder"])
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value,
                              "url": live_server.url}])
        page = context.new_page()
        page.goto(live_server.url + "/meldungen/neu/")
        fill_level_two_report(page)
        # "Add another person" posts the form and comes back with one more block.
        page.get_by_role("button", name="Weitere Person hinzufügen").click()
        page.locator("#id_p-1-last_name").fill("Muster")
        assert page.locator("#id_p-0-last_name").input_value() == "Mustermann"
        page.get_by_role("button", name="Meldung absenden").click()
        page.wait_for_url(re.compile(r".*/meldungen/\d+/\?entwurf=neu$"))
        report = Report.objects.get()
        assert sorted(report.perpetrators.values_list("last_name", flat=True)) == [
            "Muster", "Mustermann"]
    finally:
        context.close()


def test_report_screenshots(open_page, screenshots):
    """docs/screenshots/report-*.png from the demo data (scripts/screenshots.sh writes them)."""
    from django.contrib.auth import get_user_model

    from beistand.demo.services import load_demo

    load_demo()
    User = get_user_model()
    cast = {name: User.objects.get(username=name)
            for name in ("melder", "vorgesetzte", "personal", "zks")}
    made = _prepared(cast)

    bp = open_page(viewport=PHONE, user=cast["melder"])
    bp.goto("/meldungen/neu/")
    bp.page.get_by_label("Bedrohung").check()
    assert_fits_width(bp)
    screenshots.take(bp.page, "report-form-phone.png", full_page=True)

    bp = open_page(viewport=DESKTOP, user=cast["zks"])
    bp.goto(f"/meldungen/{made['filed'].pk}/")
    screenshots.take(bp.page, "report-case-desktop.png", full_page=True)

    bp = open_page(viewport=DESKTOP, user=cast["vorgesetzte"])
    bp.goto("/meldungen/arbeitsliste/")
    assert "überfällig" in bp.page.locator("main").inner_text()
    screenshots.take(bp.page, "report-queue-desktop.png", full_page=False)
