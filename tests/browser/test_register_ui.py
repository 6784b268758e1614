"""The register pages in Chromium: a person published through the report workflow is found by
the querier under a spelling variant (warning card, then the logged details), WCAG 2.1 AA (axe)
at desktop and phone width, and the documentation screenshots."""

from datetime import date

import pytest
from django.utils import timezone

from beistand.register.models import Lookup, ProtectiveMeasure, RegisterEntry
from beistand.reports import services as reports
from beistand.reports.services import PerpetratorInput
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_reports_ui import assert_fits_width
from tests.register.test_lookup import make_person
from tests.reports.conftest import report_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
PURPOSE = "Az. 51/4-123, Hausbesuch am 24.11."


@pytest.fixture(autouse=True)
def catalogues(transactional_db):
    """Transactional tests end with a flush that also removes the seeded catalogue rows."""
    from beistand.reports import catalogue as seed
    from beistand.reports.models import Offence

    for sort, (code, label, level, attack) in enumerate(seed.OFFENCES):
        Offence.objects.get_or_create(code=code, defaults={
            "label": label, "level": level, "attack": attack, "sort": sort})
    import importlib

    measures = importlib.import_module("beistand.register.migrations.0004_seed_measures")
    for sort, (code, label) in enumerate(measures.MEASURES):
        ProtectiveMeasure.objects.get_or_create(code=code, defaults={"label": label,
                                                                     "sort": sort})


@pytest.fixture
def published(people):
    """Jürgen Meier, born 14.03.1975, published through the report workflow."""
    perpetrator = PerpetratorInput(
        last_name="Meier", first_names="Jürgen", date_of_birth=date(1975, 3, 14),
        street="Ringstraße", house_number="5", postal_code="50667", city="Köln")
    report = reports.create_report(people["melder"], report_input(
        offences=("sexual_harassment",), perpetrators=[perpetrator]), submit=True)
    reports.transition(people["vorgesetzte"], report.pk, "release")
    reports.transition(people["personal"], report.pk, "file_complaint",
                       {"police_file_number": "KK11-2026-0815",
                        "complaint_date": timezone.localdate().isoformat()})
    reports.transition(people["zks"], report.pk, "publish", {"comment": "geprüft"})
    person = RegisterEntry.objects.get(report=report).person
    person.measures.set(["pairs", "no_home_visit", "alarm_ready"])
    return person


def fill_person(page, last_name, first_name="", dob=""):
    page.get_by_label("Zweck der Abfrage").fill(PURPOSE)
    page.get_by_label("Name", exact=True).fill(last_name)
    if first_name:
        page.get_by_label("Vorname").fill(first_name)
    if dob:
        page.get_by_label("Geburtsdatum").fill(dob)
    page.get_by_role("button", name="Im Register prüfen").click()


def test_querier_finds_spelling_variant_and_opens_details(open_page, people, published):
    bp = open_page(viewport=PHONE, user=people["abfrage"])
    bp.goto("/")
    bp.page.get_by_role("link", name="Person vor dem Termin prüfen").click()
    bp.page.wait_for_url("**/register/auskunft/")
    fill_person(bp.page, "Mayer", "Juergen")
    alert = bp.page.get_by_role("alert")
    alert.wait_for()
    assert "Achtung: Eintragung gefunden" in alert.inner_text()
    card = bp.page.locator("article.bs-reg-card")
    text = card.inner_text()
    assert "Meier, Jürgen" in text and "Gefährdungsstufe 2" in text
    assert "Besuch nur zu zweit" in text and "Kein Hausbesuch" in text
    assert "Sexuelle Belästigung" not in text  # the categories need the second click
    assert_fits_width(bp)
    parent = Lookup.objects.get()
    assert parent.shown == [published.pk] and parent.purpose == PURPOSE
    card.get_by_role("button", name="Details anzeigen").click()
    bp.page.get_by_role("heading", name="Eingetragene Vorfälle").wait_for()
    main = bp.page.locator("main").inner_text()
    assert "Sexuelle Belästigung" in main
    assert Lookup.objects.get(kind=Lookup.Kind.DETAIL).parent_id == parent.pk
    bp.assert_accessible()
    bp.assert_no_console_errors()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_register_pages_are_accessible(open_page, people, published, viewport):
    bp = open_page(viewport=viewport, user=people["abfrage"])
    bp.goto("/register/auskunft/")
    bp.assert_accessible()
    assert_fits_width(bp)
    # Form errors.
    bp.page.get_by_role("button", name="Im Register prüfen").click()
    bp.page.locator("#error-summary").wait_for()
    bp.assert_accessible()
    bp.console_errors.clear()  # the refused form answers 400 on purpose
    # "Keine Eintragung gefunden".
    fill_person(bp.page, "Schulze", "Erika")
    bp.page.get_by_role("heading", name="Keine Eintragung gefunden").wait_for()
    bp.assert_accessible()
    assert_fits_width(bp)
    # The warning.
    bp.goto("/register/auskunft/")
    fill_person(bp.page, "Meier", dob="1975-03-14")
    bp.page.get_by_role("alert").wait_for()
    bp.assert_accessible()
    assert_fits_width(bp)
    # Address mode.
    bp.goto("/register/auskunft/?modus=anschrift")
    bp.assert_accessible()
    assert_fits_width(bp)
    bp.assert_no_console_errors()
    # The DPO's access log, with the look-ups above in it.
    dpo = open_page(viewport=viewport, user=people["dsb"])
    dpo.goto("/register/zugriffsprotokoll/")
    assert PURPOSE in dpo.page.locator("main").inner_text()
    dpo.assert_accessible()
    assert_fits_width(dpo)
    # The ZKS pages, with a sound-alike person offered as "Möglicherweise dieselbe Person" and
    # found by the fuzzy search.
    make_person("Mayer", "Jürgen", date(1975, 3, 14))
    zks = open_page(viewport=viewport, user=people["zks"])
    for path in ("/register/verwaltung/?name=Maier%2C+J%C3%BCrgen",
                 f"/register/verwaltung/personen/{published.pk}/"):
        zks.goto(path)
        zks.assert_accessible()
        assert_fits_width(zks)
    zks.assert_no_console_errors()


def test_register_screenshots(open_page, people, published, screenshots):
    """docs/screenshots/register-*.png (written there by scripts/screenshots.sh)."""
    phone = open_page(viewport=PHONE, user=people["abfrage"])
    phone.goto("/register/auskunft/")
    fill_person(phone.page, "Mayer", "Jürgen")
    phone.page.get_by_role("alert").wait_for()
    screenshots.take(phone.page, "register-lookup-warning-phone.png", full_page=True)
    desk = open_page(viewport=DESKTOP, user=people["abfrage"])
    desk.goto("/register/auskunft/")
    fill_person(desk.page, "Schulze", "Erika")
    desk.page.get_by_role("heading", name="Keine Eintragung gefunden").wait_for()
    screenshots.take(desk.page, "register-lookup-none-desktop.png", full_page=False)
    dpo = open_page(viewport=DESKTOP, user=people["dsb"])
    dpo.goto("/register/zugriffsprotokoll/")
    dpo.page.get_by_text(PURPOSE).first.wait_for()
    screenshots.take(dpo.page, "register-access-log-desktop.png", full_page=True)
    make_person("Mayer", "Jürgen", date(1975, 3, 14))
    zks = open_page(viewport=PHONE, user=people["zks"])
    zks.goto(f"/register/verwaltung/personen/{published.pk}/")
    same = zks.page.get_by_role("heading", name="Möglicherweise dieselbe Person")
    same.wait_for()
    same.scroll_into_view_if_needed()
    screenshots.take(zks.page, "register-same-person-phone.png", full_page=False)
    zks.goto("/register/verwaltung/?name=Maier%2C+J%C3%BCrgen")
    screenshots.take(zks.page, "register-zks-search-phone.png", full_page=True)
