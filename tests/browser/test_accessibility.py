"""axe-core (WCAG 2.1 A/AA) over every page of the site, for every role that can see it, at
1280 px and 360 px: no serious or critical violation.

The pages come from the URL conf (``test_every_page_is_checked_or_excluded`` fails when a page is
added without being listed here). Which role sees which page is not written down but asked of
the server: every role's session requests every page, and each page that answers 200 with HTML
is checked in that role's browser context. Detail pages show real objects (a published report,
a draft, a register person, an alarm). Privileged roles log in with a verified TOTP second
factor, as in production (no demo mode).
"""

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.browser.conftest import AXE_TAGS, DESKTOP, PHONE
from tests.browser.pages import (  # noqa: F401
    contexts,
    make_objects,
    seed_catalogues,
    session_client,
    site,
    site_settings,
)
from tests.web.people import CAST, make_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLOCKING = ("serious", "critical")
# Only violations are collected in full (nodes of passed rules are not): several times faster.
AXE_RUN = """async (tags) => {
    const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                       resultTypes: ['violations']});
    return {passes: r.passes.length, violations: r.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))};
}"""

# url name -> path (given the objects). Every GET page that renders HTML.
PAGES = {
    "web:start": lambda o: "/",
    "accounts:login": lambda o: "/konto/anmelden/",
    "accounts:logout": lambda o: "/konto/abmelden/",
    "accounts:second_factor": lambda o: "/konto/zwei-faktor/",
    "accounts:second_factor_setup": lambda o: "/konto/zwei-faktor/einrichten/",
    "accounts:security": lambda o: "/konto/sicherheit/",
    "accounts:grants": lambda o: "/konto/verwaltung/rollen/",
    "accounts:devices": lambda o: "/konto/verwaltung/geraete/",
    "reports:mine": lambda o: "/meldungen/",
    "reports:new": lambda o: "/meldungen/neu/",
    "reports:queue": lambda o: "/meldungen/arbeitsliste/",
    "reports:overdue": lambda o: "/meldungen/ueberfaellig/",
    "reports:help": lambda o: "/meldungen/hilfe/",
    "reports:detail": lambda o: [f"/meldungen/{o['report'].pk}/",
                                 f"/meldungen/{o['submitted'].pk}/"],
    "reports:edit": lambda o: f"/meldungen/{o['draft'].pk}/bearbeiten/",
    "register:lookup": lambda o: "/register/auskunft/",
    "register:access_log": lambda o: "/register/zugriffsprotokoll/",
    "register:manage": lambda o: "/register/verwaltung/",
    "register:person": lambda o: f"/register/verwaltung/personen/{o['person'].pk}/",
    "stats:dashboard": lambda o: "/statistik/",
    "stats:dpo": lambda o: "/statistik/datenschutz/",
    "alarms:page": lambda o: "/alarm/",
    "alarms:coverage": lambda o: "/alarm/abdeckung/",
    "alarms:log": lambda o: "/alarm/protokoll/",
    "alarms:detail": lambda o: f"/alarm/protokoll/{o['alarm'].pk}/",
    "mobile:app": lambda o: "/app/",
    "mobile:connect": lambda o: "/app/verbinden/",
}

# Pages reached by submitting a form (the register look-up's result and its logged details):
# checked as states of the page that leads there (see _register_states).
STATES = {"register:lookup_detail"}

# url name -> why no browser visits it.
EXCLUDED = {
    "accounts:revoke_own_token": "POST only (redirects back to the security page)",
    "accounts:grant_create": "POST only (the form is on the grants page)",
    "accounts:grant_revoke": "POST only",
    "accounts:grant_confirm": "POST only (the confirm button is on the grants page)",
    "accounts:device_revoke": "POST only",
    "reports:colleagues": "JSON suggestions for the report form's victim field",
    "reports:act": "POST only (the actions are forms on the report page)",
    "reports:request_help": "POST only (the form is on the report page)",
    "reports:help_update": "POST only (the form is on the help list)",
    "register:keep_for_audit": "POST only (the button is in the access log)",
    "register:person_action": "POST only (the forms are on the person page)",
    "register:rights_action": "POST only (the forms are on the person page)",
    "register:access_report_pdf": "PDF",
    "register:letter_pdf": "PDF",
    "stats:export": "CSV/XLSX/JSON download",
    "stats:annual_report": "PDF",
    "stats:dpo_document": "PDF/Markdown download",
    "alarms:trigger": "POST only (the no-JavaScript fallback of the alarm button)",
    "alarm_answer": "needs a live one-time token; axe runs on it in tests/browser/"
                    "test_answer_page.py (open and answered, at 390 px)",
    "mobile:manifest": "web app manifest (JSON)",
    "mobile:service_worker": "JavaScript",
    "web:verify_audit": "POST only (the button is on the DPO's start page)",
    "ops:live": "health check (plain text/JSON)",
    "ops:ready": "health check (plain text/JSON)",
    "ops:metrics": "Prometheus metrics (plain text)",
}

# Stammdaten (django-admin): the index, one change list and one change form.
ADMIN_PAGES = ["/django-admin/", "/django-admin/organisation/unit/",
               "/django-admin/organisation/unit/{unit}/change/"]
SKIPPED_PREFIXES = ("api/", "django-admin/", "oidc/")


def site_url_names() -> dict[str, str]:
    """Every named URL of the site (not the API, not django-admin's internals) -> its route."""
    found = {}

    def walk(patterns, prefix, namespace):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                if not route.startswith(SKIPPED_PREFIXES):
                    walk(entry.url_patterns, route, entry.namespace or namespace)
            elif isinstance(entry, URLPattern) and entry.name:
                found[f"{namespace}:{entry.name}" if namespace else entry.name] = route

    walk(get_resolver().url_patterns, "", None)
    return found


@pytest.mark.django_db
def test_every_page_is_checked_or_excluded():
    names = site_url_names()
    missing = sorted(n for n in names if n not in PAGES and n not in STATES
                     and n not in EXCLUDED)
    assert not missing, ("pages neither checked by axe nor excluded (with a reason) in "
                         f"tests/browser/test_accessibility.py: {missing}")
    stale = sorted(n for n in (*PAGES, *STATES) if n not in names)
    assert not stale, f"listed pages that no longer exist: {stale}"


def _paths(objects) -> list[tuple[str, str]]:
    out = []
    for name, make in PAGES.items():
        made = make(objects)
        out += [(name, p) for p in ([made] if isinstance(made, str) else made)]
    unit = objects["unit"]
    out += [("admin", p.format(unit=unit)) for p in ADMIN_PAGES]
    out.append(("404", "/gibt-es-nicht/"))
    return out


def _visible(client, paths) -> list[tuple[str, str]]:
    """The pages this session gets as HTML (200, or the 404 page)."""
    shown = []
    for name, path in paths:
        response = client.get(path)
        expected = 404 if name == "404" else 200
        if response.status_code == expected and \
                response.get("Content-Type", "").startswith("text/html"):
            shown.append((name, path))
    return shown


class Findings:
    def __init__(self):
        self.problems: list[str] = []
        self.visits: dict[str, set[str]] = {}

    def check(self, bp, who: str, name: str, label: str):
        self.visits.setdefault(name, set()).add(who)
        bp.page.wait_for_load_state("load")
        result = bp.page.evaluate(AXE_RUN, AXE_TAGS)
        assert result["passes"] > 5, f"axe checked (almost) nothing on {label}"
        violations = result["violations"]
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        for v in violations:
            if v["impact"] not in BLOCKING:  # reported (pytest -s), not failed
                print(f"axe {v['impact']}: {v['id']} on {label} as {who}")
        if blocking:
            self.problems.append(f"{label} as {who}:\n" + json.dumps(blocking, indent=1,
                                                                    ensure_ascii=False))


def _register_states(bp, findings, who):
    """The querier's look-up result (warning card) and the logged details behind it."""
    page = bp.page
    page.get_by_label("Zweck der Abfrage").fill("Az. 51/4-123, Hausbesuch")
    page.get_by_label("Name", exact=True).fill("Meier")
    page.get_by_label("Vorname").fill("Jürgen")
    page.get_by_role("button", name="Im Register prüfen").click()
    page.get_by_role("alert").wait_for()
    findings.check(bp, who, "register:lookup", "/register/auskunft/ (result)")
    page.locator("article.bs-reg-card").get_by_role("button").first.click()
    page.wait_for_url("**/auskunft/details/")
    findings.check(bp, who, "register:lookup_detail", "/register/auskunft/details/")


@pytest.mark.parametrize("viewport", [pytest.param(DESKTOP, id="1280px"),
                                      pytest.param(PHONE, id="360px")])
def test_every_page_for_every_role_has_no_serious_axe_violation(contexts, org,  # noqa: F811
                                                               make_user, viewport):
    from beistand.accounts.roles import Role
    from tests.accounts.helpers import totp_device

    seed_catalogues()
    people = make_people(org, make_user)
    objects = {**make_objects(people), "unit": org["abt"].pk}
    paths = _paths(objects)
    findings = Findings()

    sessions = [(username, people[username], session_client(people[username]))
                for username in CAST]
    # Before the second factor: an administrator with an app (code entry) and a DPO without
    # one (set-up with QR code).
    pending_admin = make_user("admin2", roles=[Role.ADMIN], unit=org["abt"])
    totp_device(pending_admin)
    pending_dpo = make_user("dsb2", roles=[Role.DPO], unit=org["abt"])
    sessions += [("admin before 2FA", pending_admin, session_client(pending_admin, False)),
                 ("dsb before 2FA", pending_dpo, session_client(pending_dpo, False))]
    from django.test import Client

    sessions.append(("anonymous", None, Client()))

    for who, user, client in sessions:
        shown = _visible(client, paths)
        if who.endswith("before 2FA"):
            shown = [(n, p) for n, p in shown if n.startswith("accounts:second_factor")]
        if not shown:
            continue
        bp = contexts(user, viewport=viewport, client=client if user else None)
        for name, path in shown:
            if name == "accounts:logout" and who != "melder":
                continue  # the same small page for everybody
            if name == "mobile:connect":
                # It creates a token through the API and returns to the app: without the API
                # it stays, showing its error (the app page is checked on its own).
                bp.page.route("**/api/v1/**", lambda route: route.abort())
            response = bp.page.goto(bp.base_url + path)
            assert response.status == (404 if name == "404" else 200), (path, who)
            if name == "mobile:connect":
                bp.page.locator("#connect-error").wait_for()
                bp.page.unroute("**/api/v1/**")
            findings.check(bp, who, name, path)
            if name == "register:lookup":
                _register_states(bp, findings, who)

    print(f"axe: {sum(len(v) for v in findings.visits.values())} page visits")
    assert not findings.problems, "\n\n".join(findings.problems)
    # Every listed page was seen by at least one role (the probe did not silently skip it).
    unseen = sorted((set(PAGES) | STATES | {"admin", "404"}) - set(findings.visits))
    assert not unseen, f"pages no role could open: {unseen}"
