"""What the whole-site browser checks need: the cast with real objects behind the detail pages,
a production-like server (uvicorn with the alarm WebSocket, no demo mode: privileged roles pass a
real TOTP second factor), and logged-in browser contexts, one per role."""

import importlib
from datetime import date

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from beistand.accounts.services import requires_second_factor
from tests.accounts.helpers import login_verified
from tests.alarms.conftest import ServerThread
from tests.browser.conftest import DESKTOP, BrowserPage, _axe_source
from tests.reports.conftest import report_input


def seed_catalogues():
    """Transactional tests end with a flush that also removes the seeded catalogue rows."""
    from beistand.alarms.seed import ensure_defaults
    from beistand.register.models import ProtectiveMeasure
    from beistand.reports import catalogue as seed
    from beistand.reports.models import HelpOffer, Offence

    for sort, (code, label, level, attack) in enumerate(seed.OFFENCES):
        Offence.objects.get_or_create(code=code, defaults={
            "label": label, "level": level, "attack": attack, "sort": sort})
    for sort, (code, label, unit_code, description) in enumerate(seed.HELP_OFFERS):
        HelpOffer.objects.get_or_create(code=code, defaults={
            "label": label, "unit_code": unit_code, "description": description, "sort": sort})
    measures = importlib.import_module("beistand.register.migrations.0004_seed_measures")
    for sort, (code, label) in enumerate(measures.MEASURES):
        ProtectiveMeasure.objects.get_or_create(code=code, defaults={"label": label,
                                                                     "sort": sort})
    ensure_defaults()


def make_objects(people) -> dict:
    """A published report (→ register person), a draft, a help request, a logged register
    look-up and an alarm: every detail page has something real to show."""
    from beistand.alarms import services as alarms
    from beistand.register import lookup
    from beistand.register.models import RegisterEntry
    from beistand.reports import help as reports_help
    from beistand.reports import services as reports
    from beistand.reports.services import PerpetratorInput

    perpetrator = PerpetratorInput(
        last_name="Meier", first_names="Jürgen", date_of_birth=date(1975, 3, 14),
        street="Ringstraße", house_number="5", postal_code="50667", city="Köln")
    report = reports.create_report(people["melder"], report_input(
        offences=("threat",), perpetrators=[perpetrator]), submit=True)
    reports.transition(people["vorgesetzte"], report.pk, "release")
    reports.transition(people["personal"], report.pk, "file_complaint",
                       {"police_file_number": "KK11-2026-0815",
                        "complaint_date": timezone.localdate().isoformat()})
    reports.transition(people["zks"], report.pk, "publish", {"comment": "geprüft"})
    person = RegisterEntry.objects.get(report=report).person
    person.measures.set(["pairs", "no_home_visit"])
    submitted = reports.create_report(people["melder"], report_input(), submit=True)
    draft = reports.create_report(people["melder"], report_input(), submit=False)
    reports_help.request_help(people["melder"], report.pk, ["legal_protection",
                                                            "security_advice"])
    lookup.lookup_person(people["abfrage"], "Az. 51/4-123", "Meier", "Jürgen")
    alarm = alarms.trigger(user=people["melder"], template="beistand").alarm
    return {"report": report, "submitted": submitted, "draft": draft, "person": person,
            "alarm": alarm}


@pytest.fixture
def site_settings(settings):
    """A browser talking plain HTTP to the test server; no demo mode (real second factor)."""
    settings.DEMO_MODE = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.AXES_ENABLED = False
    return settings


@pytest.fixture
def site(transactional_db, site_settings):
    srv = ServerThread().start()
    yield srv
    srv.stop()


def session_client(user, verified=True) -> Client:
    """A logged-in Django test client; privileged roles have passed the second factor."""
    client = Client()
    if verified and requires_second_factor(user):
        login_verified(client, user)
    else:
        client.force_login(user)
    return client


@pytest.fixture
def contexts(browser, site):
    """contexts(user | None, viewport=DESKTOP) -> BrowserPage in a new context logged in as
    ``user`` (anonymous for None); every context is closed at the end."""
    axe = _axe_source()
    made = []

    def make(user=None, viewport=None, client=None) -> BrowserPage:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="de-DE",
                                      timezone_id="Europe/Berlin")
        made.append(context)
        context.add_init_script(script=axe)
        if user is not None or client is not None:
            client = client or session_client(user)
            cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
            context.add_cookies([{"name": cookie.key, "value": cookie.value,
                                  "url": site.http}])
        return BrowserPage(context.new_page(), site.http)

    yield make
    for context in made:
        context.close()
