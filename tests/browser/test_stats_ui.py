"""The statistics dashboard and the DPO page in Chromium with the demo data (300 incidents):
charts with table views, WCAG 2.1 AA (axe), no CSP violations, 360 px without horizontal
scrolling; the documentation screenshots (scripts/screenshots.sh writes them to docs/)."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_reports_ui import assert_fits_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    """The demo body with its incidents (a flush removed the seeded catalogues: re-seed)."""
    from beistand.demo.services import load_demo
    from beistand.reports import catalogue as seed
    from beistand.reports.models import HelpOffer, Offence

    for sort, (code, label, level, attack) in enumerate(seed.OFFENCES):
        Offence.objects.get_or_create(code=code, defaults={
            "label": label, "level": level, "attack": attack, "sort": sort})
    for sort, (code, label, unit, description) in enumerate(seed.HELP_OFFERS):
        HelpOffer.objects.get_or_create(code=code, defaults={
            "label": label, "unit_code": unit, "description": description, "sort": sort})
    summary = load_demo()
    assert summary.incidents >= 250
    return {u.username: u for u in get_user_model().objects.filter(
        username__in=("statistik", "dsb"))}


@pytest.mark.parametrize("viewport", [pytest.param(DESKTOP, id="desktop"),
                                      pytest.param(PHONE, id="phone")])
def test_dashboard_is_accessible_and_fits(open_page, demo, viewport):
    bp = open_page(viewport=viewport, user=demo["statistik"])
    bp.goto("/")
    bp.page.get_by_role("link", name="Statistik öffnen").click()
    bp.page.wait_for_url("**/statistik/")
    figures = bp.page.locator("figure.bs-chart")
    assert figures.count() == 4
    assert bp.page.locator("svg[role=img] title").count() == 4
    bp.page.get_by_text("Tabelle zum Diagramm „Vorfälle je Quartal nach Gefährdungsstufe“").click()
    expect(bp.page.get_by_role("table").first).to_be_visible()
    assert "<5" in bp.page.inner_text("main") or "x" in bp.page.inner_text("main")
    bp.assert_accessible()
    assert_fits_width(bp)
    bp.assert_no_console_errors()


def test_bad_filter_shows_german_message(open_page, demo):
    bp = open_page(viewport=PHONE, user=demo["statistik"])
    bp.goto("/statistik/?from=2026-05-01&to=2025-01-01", expect_status=400)
    alert = bp.page.get_by_role("alert")
    assert "nach dessen Ende" in alert.inner_text()
    bp.assert_accessible()
    # The page itself answers 400 (Chromium logs that); nothing else may fail (CSP, scripts).
    assert [e for e in bp.console_errors if "status of 400" not in e] == []


def test_dpo_page_is_accessible(open_page, demo):
    bp = open_page(viewport=PHONE, user=demo["dsb"])
    bp.goto("/statistik/datenschutz/")
    assert "Verzeichnis von Verarbeitungstätigkeiten" in bp.page.inner_text("main")
    bp.assert_accessible()
    assert_fits_width(bp)
    bp.assert_no_console_errors()


def test_stats_screenshots(open_page, demo, screenshots):
    """docs/screenshots/stats-dashboard-*.png."""
    desk = open_page(viewport=DESKTOP, user=demo["statistik"])
    desk.goto("/statistik/")
    screenshots.take(desk.page, "stats-dashboard-desktop.png", full_page=True)
    phone = open_page(viewport=PHONE, user=demo["statistik"])
    phone.goto("/statistik/")
    # The first chart at 360 px.
    screenshots.take(phone.page.locator("main section").nth(2), "stats-dashboard-phone.png")
