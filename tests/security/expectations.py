"""Who may call what: the rules of the authorisation matrix (tests/security/
test_authorization_matrix.py), one per URL pattern of the web UI and per API operation.

A rule names the roles that may call the route and what they get (``ok``); every other
logged-in role gets ``deny`` (403 by default: the page or operation is not for this role; 404
where the role may not even learn that the object exists); anonymous callers are sent to the
login page (pages) or get 401 (API). ``special`` pins the answer of single roles where it
differs (e.g. the reporter's own object). Statuses: an int, ``LOGIN`` (302 to a login page) or
``REDIRECT`` (302 elsewhere).

The requests: GET for pages (POST with an empty form for pages that only take POST, ``method``),
the schema's method for API operations with an empty JSON body ``{}``. A refused caller must be
refused before the body is looked at: a 400 for a role without the right would be a finding.

Objects named in URLs come from tests/security/conftest.py: a report submitted by the reporter
(not yet released: personnel does not see it yet), a help request of the reporter, a register
person published through the workflow, a querier's look-up, a rights request, a Probealarm the
reporter raised, the reporter's visit, a device token, a second API token of the reporter.
"""

from dataclasses import dataclass, field

LOGIN = "302 login"
REDIRECT = "302 elsewhere"

REPORTER, SUPERVISOR, PERSONNEL, ZKS = "reporter", "supervisor", "personnel", "zks"
QUERIER, STATISTICS, DPO, SECURITY, ADMIN = "querier", "statistics", "dpo", "security", "admin"
EVERY_USER = frozenset({REPORTER, SUPERVISOR, PERSONNEL, ZKS, QUERIER, STATISTICS, DPO,
                        SECURITY, ADMIN})
NOBODY = frozenset()
EVERYONE = EVERY_USER | {"anonymous"}  # public: no login needed


def roles(*names) -> frozenset:
    return frozenset(names)


@dataclass(frozen=True)
class Rule:
    allow: frozenset
    ok: object = 200
    deny: object = 403
    anon: object = None            # default: LOGIN for pages, 401 for the API
    method: str | None = None      # pages: "POST" for pages that only take POST
    special: dict = field(default_factory=dict)

    def expected(self, role: str, api: bool):
        if role in self.special:
            return self.special[role]
        if role == "anonymous" and "anonymous" not in self.allow:
            return self.anon if self.anon is not None else (401 if api else LOGIN)
        return self.ok if role in self.allow else self.deny


STATS_READERS = roles(ZKS, STATISTICS, DPO, ADMIN)  # anonymised statistics
ALARM_LOG = roles(ZKS, SECURITY, ADMIN)
RIGHTS = roles(ZKS, DPO)                            # data subject rights: ZKS decides, DPO reads

# --- Pages (URL patterns outside /api/v1/) ----------------------------------------------------
PAGES: dict[str, Rule] = {
    # OpenAPI document and Swagger UI: the API's description, public like its login endpoint.
    "api/v1/schema/": Rule(EVERYONE),
    "api/v1/docs/": Rule(EVERYONE),
    # Login: shown to anonymous callers; a logged-in user is sent on to the start page.
    "konto/anmelden/": Rule(roles("anonymous"), deny=REDIRECT),
    "konto/abmelden/": Rule(EVERYONE),  # GET shows the logout button (logging out is a POST)
    # The second-factor pages: only for half-logged-in sessions; done sessions are sent on.
    "konto/zwei-faktor/": Rule(NOBODY, deny=REDIRECT),
    "konto/zwei-faktor/einrichten/": Rule(NOBODY, deny=REDIRECT),
    "konto/sicherheit/": Rule(EVERY_USER),
    # The one-time answer link of an alarm SMS: no login, the token is the credential; an
    # unknown token is the same 404 for everyone (anonymous included).
    "a/<str:token>": Rule(NOBODY, deny=404, anon=404),
    # Someone else's token: not found (an admin revokes other people's tokens via the API).
    "konto/sicherheit/tokens/<int:token_id>/widerrufen/": Rule(
        roles(REPORTER, ADMIN), method="POST", ok=REDIRECT, deny=404),
    "konto/verwaltung/rollen/": Rule(roles(ADMIN, DPO)),  # the DPO reads and confirms
    # Four-eyes confirmation; the matrix's grant is not pending, so allowed roles get 400.
    "konto/verwaltung/rollen/<int:grant_id>/bestaetigen/": Rule(roles(ADMIN, DPO), method="POST",
                                                               ok=400),
    "konto/verwaltung/rollen/vergeben/": Rule(roles(ADMIN), method="POST", ok=400),
    "konto/verwaltung/rollen/<int:grant_id>/entziehen/": Rule(roles(ADMIN), method="POST",
                                                              ok=400),
    "konto/verwaltung/geraete/": Rule(roles(ADMIN)),
    "konto/verwaltung/geraete/<int:device_id>/widerrufen/": Rule(roles(ADMIN), method="POST",
                                                                 ok=REDIRECT),
    # Reports: every employee reports; the work queue is for those with a workflow step.
    "meldungen/": Rule(EVERY_USER),
    "meldungen/neu/": Rule(EVERY_USER),
    "meldungen/arbeitsliste/": Rule(roles(SUPERVISOR, PERSONNEL, ZKS)),
    "meldungen/ueberfaellig/": Rule(roles(ZKS)),
    "meldungen/kolleginnen/": Rule(EVERY_USER),
    "meldungen/hilfe/": Rule(EVERY_USER),
    # The help request of the reporter: the victim may withdraw; others do not see it.
    # (a refused change is a message on the help page: a redirect)
    "meldungen/hilfe/<int:request_id>/": Rule(roles(REPORTER), method="POST", ok=REDIRECT,
                                               deny=404),
    # The submitted report: the reporter, the supervisor and the ZKS see it; personnel only
    # after release; everyone else may not learn it exists.
    "meldungen/<int:report_id>/": Rule(roles(REPORTER, SUPERVISOR, ZKS), deny=404),
    "meldungen/<int:report_id>/bearbeiten/": Rule(roles(REPORTER, SUPERVISOR, ZKS),
                                                  ok=REDIRECT, deny=404),
    # (no action named: 409 with the allowed actions)
    "meldungen/<int:report_id>/aktion/": Rule(roles(REPORTER, SUPERVISOR, ZKS), method="POST",
                                              ok=409, deny=404),
    "meldungen/<int:report_id>/hilfe/": Rule(roles(REPORTER, SUPERVISOR, ZKS), method="POST",
                                             ok=REDIRECT, deny=404),
    # Register: look-up for queriers, the log for the DPO, management for the ZKS.
    "register/auskunft/": Rule(roles(QUERIER)),
    # (no look-up named: 404)
    "register/auskunft/details/": Rule(roles(QUERIER), method="POST", ok=404),
    "register/zugriffsprotokoll/": Rule(roles(DPO)),
    "register/zugriffsprotokoll/<int:lookup_id>/aufbewahren/": Rule(roles(DPO), method="POST",
                                                                    ok=REDIRECT),
    "register/verwaltung/": Rule(roles(ZKS)),
    "register/verwaltung/personen/<int:person_id>/": Rule(roles(ZKS)),
    "register/verwaltung/personen/<int:person_id>/aktion/": Rule(roles(ZKS), method="POST",
                                                                 ok=REDIRECT),
    "register/verwaltung/personen/<int:person_id>/rechte/": Rule(roles(ZKS), method="POST",
                                                                 ok=REDIRECT),
    "register/verwaltung/personen/<int:person_id>/auskunft.pdf": Rule(RIGHTS),
    # The letter exists once the request is decided: 409 before.
    "register/verwaltung/antraege/<int:request_id>/schreiben.pdf": Rule(RIGHTS, ok=409),
    # Statistics (anonymised); the annual report page needs a year (400 without).
    "statistik/": Rule(STATS_READERS),
    "statistik/export.<str:fmt>": Rule(STATS_READERS),
    "statistik/jahresbericht/": Rule(STATS_READERS, ok=400),
    "statistik/datenschutz/": Rule(roles(DPO)),
    # Records of processing and DPIA: the DPO, and the administration that maintains them.
    "statistik/datenschutz/<str:document>.<str:fmt>": Rule(roles(DPO, ADMIN)),
    # Alarm: everyone may raise one and see who receives it; the log is for security/ZKS/admin.
    "alarm/": Rule(EVERY_USER),
    # The form without JavaScript: an empty form raises the default alarm, then redirects.
    "alarm/ausloesen/": Rule(EVERY_USER, method="POST", ok=REDIRECT),
    "alarm/abdeckung/": Rule(EVERY_USER),
    "alarm/protokoll/": Rule(ALARM_LOG),
    # the reporter sent it; not on it is 404 as for an unknown id (issue 16, finding 13)
    "alarm/protokoll/<int:alarm_id>/": Rule(ALARM_LOG | {REPORTER}, deny=404),
    # The phone web app: the shell, manifest and service worker are public (installable,
    # offline); pairing the phone needs a login.
    "app/": Rule(EVERYONE),
    "app/verbinden/": Rule(EVERY_USER),
    "app/manifest.webmanifest": Rule(EVERYONE),
    "app/sw.js": Rule(EVERYONE),
    # The browser's icon request: a redirect to the static SVG icon, for anyone.
    "favicon.ico": Rule(EVERYONE, ok=REDIRECT),
    # Start page and the audit chain check (the DPO).
    "": Rule(EVERY_USER),
    "pruefprotokoll/pruefen/": Rule(roles(DPO), method="POST", ok=REDIRECT),
    # Operations (health and metrics) — probes of load balancers and monitoring, no login.
    "health/live": Rule(EVERYONE),
    "health/ready": Rule(EVERYONE, ok=(200, 503)),
    # Metrics: with the metrics token or from the server itself only (these requests come
    # from another address and carry no token).
    "metrics": Rule(NOBODY, anon=403),
}

# Django's admin: only the administration role; everybody else is sent to its login. What the
# admin gets where it is not 200: model permissions refuse adding a second body and deleting
# bodies, employees (deactivated, never deleted), catalogue entries, alarm templates and
# enrolment codes (withdrawn, never deleted: a used one documents its device token).
ADMIN_PREFIX = "django-admin/"
ADMIN_PAGES: dict[str, Rule] = {
    "django-admin/login/": Rule(roles(ADMIN), ok=REDIRECT, deny=403, anon=LOGIN),
    "django-admin/logout/": Rule(roles(ADMIN), ok=405, deny=REDIRECT, anon=REDIRECT),
    "django-admin/autocomplete/": Rule(roles(ADMIN), ok=403, deny=LOGIN),
    "django-admin/r/<path:content_type_id>/<path:object_id>/": Rule(roles(ADMIN), ok=404,
                                                                    deny=LOGIN),
    "django-admin/(?P<url>.*)$": Rule(roles(ADMIN), ok=404, deny=LOGIN),
}
ADMIN_REFUSED = ("organisation/body/add/", "organisation/body/<path:object_id>/delete/",
                 "organisation/employee/<path:object_id>/delete/",
                 "reports/offence/<path:object_id>/delete/",
                 "reports/helpoffer/<path:object_id>/delete/",
                 "alarms/alarmtemplate/<path:object_id>/delete/",
                 "accounts/enrolmentcode/<path:object_id>/delete/")


def admin_rule(pattern: str) -> Rule | None:
    if pattern in ADMIN_PAGES:
        return ADMIN_PAGES[pattern]
    if not pattern.startswith(ADMIN_PREFIX):
        return None
    rest = pattern[len(ADMIN_PREFIX):]
    if rest in ADMIN_REFUSED:
        ok = 403
    elif rest.endswith("<path:object_id>/"):
        ok = REDIRECT  # the bare object URL redirects to its change page
    else:
        ok = 200
    return Rule(roles(ADMIN), ok=ok, deny=LOGIN)


# --- API operations ("METHOD /api/v1/…" as in the OpenAPI schema) ------------------------------
API: dict[str, Rule] = {
    "GET /api/v1/health": Rule(EVERYONE),
    "POST /api/v1/auth/token": Rule(EVERYONE, ok=400),  # the login itself: an empty body is 400
    "GET /api/v1/auth/tokens": Rule(EVERY_USER),
    # The reporter's second token: its owner and administrators revoke it; others: not found.
    "DELETE /api/v1/auth/tokens/{token_id}": Rule(roles(REPORTER, ADMIN), ok=204, deny=404),
    "GET /api/v1/auth/me": Rule(EVERY_USER),
    "GET /api/v1/roles/grants": Rule(roles(ADMIN, DPO)),
    "POST /api/v1/roles/grants/{grant_id}/confirm": Rule(roles(ADMIN, DPO), ok=400),
    "POST /api/v1/roles/grants": Rule(roles(ADMIN), ok=400),
    "POST /api/v1/roles/grants/{grant_id}/revoke": Rule(roles(ADMIN), ok=400),
    "GET /api/v1/devices": Rule(roles(ADMIN)),
    "POST /api/v1/devices": Rule(roles(ADMIN), ok=400),
    "GET /api/v1/devices/self": Rule(NOBODY, deny=401),  # device tokens only, never a person
    "DELETE /api/v1/devices/{device_id}": Rule(roles(ADMIN), ok=204),
    "GET /api/v1/devices/enrolment-codes": Rule(roles(ADMIN)),
    "POST /api/v1/devices/enrolment-codes": Rule(roles(ADMIN), ok=400),
    "DELETE /api/v1/devices/enrolment-codes/{code_id}": Rule(roles(ADMIN), ok=204),
    # a workstation pairs with a one-time code, no login: an empty body is 400 for everyone
    "POST /api/v1/devices/enrol": Rule(EVERYONE, ok=400),
    "GET /api/v1/organisation/units": Rule(EVERY_USER),
    "GET /api/v1/organisation/rooms": Rule(EVERY_USER),
    # An employee record: the person themself, personnel management and the administration.
    "GET /api/v1/organisation/employees/{employee_id}": Rule(roles(REPORTER, PERSONNEL, ADMIN)),
    "GET /api/v1/reports": Rule(EVERY_USER),  # each sees the reports visible to them
    "POST /api/v1/reports": Rule(EVERY_USER, ok=400),
    "GET /api/v1/reports/{report_id}": Rule(roles(REPORTER, SUPERVISOR, ZKS), deny=404),
    "PATCH /api/v1/reports/{report_id}": Rule(roles(REPORTER, SUPERVISOR, ZKS), ok=400,
                                              deny=404),
    "POST /api/v1/reports/{report_id}/transitions": Rule(roles(REPORTER, SUPERVISOR, ZKS),
                                                         ok=400, deny=404),
    # Confirming a victim (issue 16, finding 8): those who see the report get past the gate
    # (the empty body is a 400); the service then admits only the reporter's supervisor.
    "POST /api/v1/reports/{report_id}/victims": Rule(roles(REPORTER, SUPERVISOR, ZKS),
                                                     ok=400, deny=404),
    # Attachments: the reporter and whoever has the next step; the ZKS sees but does not add.
    "POST /api/v1/reports/{report_id}/attachments": Rule(roles(REPORTER, SUPERVISOR), ok=400,
                                                         deny=404, special={ZKS: 403}),
    "GET /api/v1/reports/{report_id}/attachments/{attachment_id}": Rule(
        roles(REPORTER, SUPERVISOR, ZKS), deny=404),
    # The case summary: the supervisor and the ZKS (personnel after release), not the reporter.
    "GET /api/v1/reports/{report_id}/documents/{kind}": Rule(roles(SUPERVISOR, ZKS), deny=404,
                                                             special={REPORTER: 403}),
    "GET /api/v1/catalogue/offences": Rule(EVERY_USER),
    "GET /api/v1/catalogue/help-offers": Rule(EVERY_USER),
    "GET /api/v1/help-requests": Rule(EVERY_USER),
    "POST /api/v1/help-requests": Rule(EVERY_USER, ok=400),
    "POST /api/v1/help-requests/{request_id}": Rule(roles(REPORTER), ok=400, deny=404),
    "POST /api/v1/register/lookups": Rule(roles(QUERIER), ok=400),
    "GET /api/v1/register/lookups/{lookup_id}/persons/{person_id}": Rule(roles(QUERIER)),
    "POST /api/v1/register/persons/{person_id}/rights-requests": Rule(roles(ZKS), ok=400),
    "GET /api/v1/register/rights-requests": Rule(RIGHTS),
    "GET /api/v1/register/rights-requests/{request_id}": Rule(RIGHTS),
    "POST /api/v1/register/rights-requests/{request_id}/decision": Rule(roles(ZKS), ok=400),
    "POST /api/v1/register/rights-requests/{request_id}/defer": Rule(roles(ZKS), ok=400),
    "GET /api/v1/register/rights-requests/{request_id}/letter.pdf": Rule(RIGHTS, ok=409),
    "GET /api/v1/register/persons/{person_id}/access-report": Rule(RIGHTS),
    "GET /api/v1/register/persons/{person_id}/access-report.pdf": Rule(RIGHTS),
    "GET /api/v1/stats/incidents": Rule(STATS_READERS),
    "GET /api/v1/stats/key-figures": Rule(STATS_READERS),
    "GET /api/v1/stats/lead-times": Rule(STATS_READERS),
    "GET /api/v1/stats/annual-report/{year}.pdf": Rule(STATS_READERS),
    "GET /api/v1/alarm-templates": Rule(EVERY_USER),
    "POST /api/v1/alarms": Rule(EVERY_USER, ok=400),
    "GET /api/v1/alarms": Rule(ALARM_LOG),
    "GET /api/v1/alarms/active": Rule(EVERY_USER),
    "GET /api/v1/alarms/coverage": Rule(EVERY_USER),
    # The reporter's Probealarm (already out, so a cancel is 409): the sender, and those who
    # oversee alarms; the security service takes part in every alarm.
    # Not on the alarm: 404 as for an unknown id (issue 16, finding 13).
    "GET /api/v1/alarms/{alarm_id}": Rule(ALARM_LOG | {REPORTER}, deny=404),
    "POST /api/v1/alarms/{alarm_id}/cancel": Rule(roles(REPORTER), ok=409, deny=404,
                                                  special={SECURITY: 403}),
    "POST /api/v1/alarms/{alarm_id}/respond": Rule(roles(REPORTER, SECURITY), ok=400, deny=404),
    "POST /api/v1/alarms/{alarm_id}/messages": Rule(roles(REPORTER, SECURITY), ok=400,
                                                    deny=404),
    "POST /api/v1/alarms/{alarm_id}/position": Rule(roles(REPORTER), ok=400, deny=404),
    # All-clear: the sender and the security service (a helper who is coming, too: not here).
    "POST /api/v1/alarms/{alarm_id}/resolve": Rule(roles(REPORTER, SECURITY), deny=404),
    # Device trigger URL: the token in the path is the credential; an unknown one is 404.
    "POST /api/v1/trigger/{device_token}": Rule(NOBODY, deny=404, anon=404),
    "GET /api/v1/trigger/{device_token}": Rule(NOBODY, deny=404, anon=404),
    # SMS gateway: HMAC signature, checked before the body (no secret configured: 401).
    "POST /api/v1/sms/inbound": Rule(NOBODY, deny=401),
    "POST /api/v1/sms/status": Rule(NOBODY, deny=401),
    # The gateway's result of a voice call (DTMF answer): signed like the inbound SMS.
    "POST /api/v1/sms/call-result": Rule(NOBODY, deny=401),
    "POST /api/v1/push/subscriptions": Rule(EVERY_USER, ok=400),
    "DELETE /api/v1/push/subscriptions": Rule(EVERY_USER, ok=400),
    "GET /api/v1/push/vapid-public-key": Rule(EVERY_USER, ok=404),  # 404: no VAPID key set
    "GET /api/v1/app/config": Rule(EVERY_USER),
    # A phone's device token only from a logged-in browser session, never from a bearer token.
    "POST /api/v1/app/device-token": Rule(NOBODY),
    "POST /api/v1/visits": Rule(EVERY_USER, ok=400),
    "GET /api/v1/visits/current": Rule(EVERY_USER, ok=204, special={REPORTER: 200}),
    "GET /api/v1/visits/{visit_id}": Rule(roles(REPORTER), deny=404),
    "POST /api/v1/visits/{visit_id}/checkin": Rule(roles(REPORTER), ok=400, deny=404),
    "POST /api/v1/visits/{visit_id}/end": Rule(roles(REPORTER), deny=404),
    "POST /api/v1/visits/{visit_id}/position": Rule(roles(REPORTER), ok=400, deny=404),
}


def page_rule(pattern: str) -> Rule | None:
    return PAGES.get(pattern) or admin_rule(pattern)


def api_rule(key: str) -> Rule | None:
    return API.get(key)
