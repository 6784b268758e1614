"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Playwright's own browser download is never used (no network for it); the system Chromium is
launched instead. Every page can be checked with axe-core (from node_modules) for WCAG 2.1 AA.

The tests wait for the state they assert, never for time: Playwright's locators and ``expect``
wait for an element or a text, ``wait_until`` for a row in the database. Every such wait has
the same generous ceiling (``WAIT_MS``), so that a loaded 2-core machine is slow, not red.

Documentation screenshots go through the ``screenshots`` fixture: into a temporary directory,
or into docs/screenshots/ when scripts/screenshots.sh runs them (``--screenshots DIR``).
"""

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

# Playwright's sync API runs an event loop in the test thread; Django would then refuse ORM calls
# made by the test itself (fixtures creating users). The live server runs in its own thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The ceiling of every wait for a state (element, text, URL, navigation, database row). Only
# reached when the state never comes; Playwright's own default is 30 s, expect's only 5 s.
WAIT_MS = 45_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 780}


def _axe_source() -> str:
    path = Path(django_settings.NODE_MODULES) / "axe-core" / "axe.min.js"
    if not path.exists():
        pytest.fail(f"axe-core not found at {path}: run the set-up (npm install) first")
    return path.read_text(encoding="utf-8")


def _chromium_path() -> str:
    found = shutil.which(CHROMIUM)
    if not found:
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium "
                    "(the set-up script installs it)")
    return found


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API keeps an event loop running in this thread while it
    # is open, and tests after the browser tests (desktop client, alarms) use asyncio.run().
    from playwright.sync_api import expect, sync_playwright

    executable = _chromium_path()
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                              headless=True)
        new_context = instance.new_context

        def new_context_with_ceiling(**options):
            # Every context of every test (also those made in a test module) gets WAIT_MS.
            context = new_context(**options)
            context.set_default_timeout(WAIT_MS)
            return context

        instance.new_context = new_context_with_ceiling
        yield instance
        instance.close()


def wait_until(condition, what: str, timeout_ms: int = WAIT_MS):
    """Poll ``condition()`` (e.g. a database query) until it returns something true; return it.

    For state the server records on its own time (a receipt, a row written by another thread):
    the test waits for that state instead of sleeping and hoping."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_ms / 1000:.0f} s for {what}")
        time.sleep(0.05)


class Screenshots:
    """Documentation screenshots (docs/screenshots/*.png) taken by the tests that show a page.

    ``take(page_or_locator, name, **options)`` writes ``name`` into ``directory``: a temporary
    directory in every test run (the page must still render: the file must have some size),
    docs/screenshots/ only when scripts/screenshots.sh passes ``--screenshots``."""

    def __init__(self, directory: Path):
        self.directory = directory

    def take(self, target, name: str, **options) -> Path:
        path = self.directory / name
        target.screenshot(path=str(path), **options)
        size = path.stat().st_size
        assert size > 10_000, f"{name}: only {size} bytes, the page did not render"
        return path


@pytest.fixture
def screenshots(request, tmp_path_factory) -> Screenshots:
    """Where this test's documentation screenshots go (the test is marked ``screenshots``)."""
    option = request.config.getoption("screenshots")
    if option:
        directory = Path(option).resolve()
        directory.mkdir(parents=True, exist_ok=True)
    else:
        directory = tmp_path_factory.mktemp("screenshots")
    return Screenshots(directory)


@pytest.fixture
def web_settings(settings):
    """Settings for a browser talking plain HTTP to the live server; demo mode waives TOTP."""
    settings.DEMO_MODE = True
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.AXES_ENABLED = False
    return settings


class BrowserPage:
    """A Playwright page plus the checks every test wants: console errors, CSP, axe."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.console_errors: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"pageerror: {exc}"))

    def _on_console(self, message):
        if message.type == "error":
            # "Failed to load resource: ... 404" names no resource: the location does.
            where = (message.location or {}).get("url") or ""
            self.console_errors.append(f"{message.text} ({where})" if where else message.text)

    def goto(self, path: str, expect_status: int | None = 200):
        response = self.page.goto(self.base_url + path)
        if expect_status is not None:
            assert response is not None and response.status == expect_status, (
                f"{path}: HTTP {response.status if response else '-'}")
        self.page.evaluate("() => document.fonts.ready.then(() => true)")
        return response

    def axe_violations(self) -> list[dict]:
        result = self.page.evaluate(
            """async (tags) => {
                const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
                return {passes: r.passes.length, violations: r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary),
                }))};
            }""",
            AXE_TAGS,
        )
        # Guard against a silently empty run (axe not injected, nothing checked).
        assert result["passes"] > 5, "axe checked (almost) nothing"
        return result["violations"]

    def assert_accessible(self):
        violations = self.axe_violations()
        assert not violations, "axe found WCAG violations:\n" + json.dumps(
            violations, indent=2, ensure_ascii=False)

    def assert_no_console_errors(self):
        # Console errors include CSP refusals ("Refused to apply inline style ...").
        assert not self.console_errors, "\n".join(self.console_errors)


@pytest.fixture
def open_page(browser, live_server, web_settings):
    """open_page(viewport=DESKTOP, user=None) -> BrowserPage, logged in as ``user`` if given."""
    axe = _axe_source()
    contexts = []

    def make(viewport=None, user=None) -> BrowserPage:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="de-DE",
                                      timezone_id="Europe/Berlin")
        contexts.append(context)
        # Added via the DevTools protocol, so the page's CSP (no inline scripts) does not apply.
        context.add_init_script(script=axe)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
            context.add_cookies([{"name": cookie.key, "value": cookie.value,
                                  "url": live_server.url}])
        return BrowserPage(context.new_page(), live_server.url)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def people(org, make_user):
    from tests.web.people import make_people

    return make_people(org, make_user)
