"""The one settings module of beistand.

Every environment variable the system reads is read here, through ``env_*`` helpers, and is
documented in ``docs/configuration.md`` with its default. A test
(``tests/core/test_configuration_doc.py``) fails when a variable read here is missing there.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from beistand.core.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
# The repository root in a development checkout (src/beistand -> ..); used for node_modules.
PROJECT_ROOT = BASE_DIR.parent.parent

DATA_DIR = Path(env_str("BEISTAND_DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Demo mode: password "demo" for the demo accounts, no 2FA, a visible banner. Never in production.
DEMO_MODE = env_bool("BEISTAND_DEMO", False)
DEBUG = env_bool("BEISTAND_DEBUG", False)


def _secret_key() -> str:
    """Use BEISTAND_SECRET_KEY, else a random key persisted (mode 0600) under DATA_DIR."""
    key = env_str("BEISTAND_SECRET_KEY", "")
    if key:
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("BEISTAND_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("BEISTAND_CSRF_TRUSTED_ORIGINS", [])
# Public base URL, used in e-mails and TOTP labels.
BASE_URL = env_str("BEISTAND_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "channels",
    "ninja",
    "beistand.core",
    "beistand.audit",
    "beistand.organisation",
    "beistand.accounts",
    "beistand.web",
    "beistand.reports",
    "beistand.register",
    "beistand.stats",
    "beistand.notify",
    "beistand.alarms",
    "beistand.mobile",
    "beistand.demo",
    "beistand.ops",
    "beistand.backup",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "beistand.core.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "beistand.accounts.middleware.SecondFactorRequiredMiddleware",
    "beistand.audit.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # AxesMiddleware last, as its documentation asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "beistand.urls"
ASGI_APPLICATION = "beistand.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "beistand.web.context_processors.shell",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'beistand.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: a transaction takes the write lock at BEGIN, so concurrent writers queue on
        # busy_timeout instead of failing with "database is locked" on lock upgrade (this matters
        # for the audit chain, which reads its head and appends in one transaction).
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA foreign_keys=ON;",
    }
    # Tests use a file (not :memory:) so that the live server threads share the data.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-beistand.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, channels (WebSocket fan-out) -------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Authentication ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any other backend is asked.
    "axes.backends.AxesStandaloneBackend",
    "beistand.accounts.backends.RoleAwareModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:start"
LOGOUT_REDIRECT_URL = "accounts:login"

# Idle timeout: the session cookie expires this long after the last request.
SESSION_COOKIE_AGE = env_int("BEISTAND_SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env_bool("BEISTAND_SECURE_COOKIES", not (DEBUG or DEMO_MODE))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if env_bool("BEISTAND_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True

# Lockout (django-axes): after N failures for one username from one address, lock for a while.
AXES_FAILURE_LIMIT = env_int("BEISTAND_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = env_int("BEISTAND_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "beistand.accounts.lockout.locked_out_response"
AXES_VERBOSE = False
AXES_ENABLED = env_bool("BEISTAND_LOCKOUT_ENABLED", True)

API_TOKEN_DAYS = env_int("BEISTAND_API_TOKEN_DAYS", 90)
OTP_TOTP_ISSUER = env_str("BEISTAND_TOTP_ISSUER", "beistand")

# Optional single sign-on via OpenID Connect (mozilla-django-oidc). Enabled when a client id is set.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
if OIDC_ENABLED:
    OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
    OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "")
    OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "")
    OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "")
    OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
    # Whether the identity provider already enforces a second factor for every login.
    OIDC_TRUST_MFA = env_bool("BEISTAND_OIDC_TRUST_MFA", False)
    AUTHENTICATION_BACKENDS.append("beistand.accounts.oidc.EmployeeOIDCBackend")
    # mozilla-django-oidc redirects to this literally (no URL-name resolution).
    LOGIN_REDIRECT_URL_FAILURE = "/konto/anmelden/"

# Optional LDAP / Active Directory login (django-auth-ldap, extra "ldap"). Enabled by a server URI.
AUTH_LDAP_SERVER_URI = env_str("AUTH_LDAP_SERVER_URI", "")
LDAP_ENABLED = bool(AUTH_LDAP_SERVER_URI)
if LDAP_ENABLED:
    AUTH_LDAP_BIND_DN = env_str("AUTH_LDAP_BIND_DN", "")
    AUTH_LDAP_BIND_PASSWORD = env_str("AUTH_LDAP_BIND_PASSWORD", "")
    AUTH_LDAP_USER_DN_TEMPLATE = env_str("AUTH_LDAP_USER_DN_TEMPLATE", "") or None
    AUTH_LDAP_USER_SEARCH_BASE = env_str("AUTH_LDAP_USER_SEARCH_BASE", "")
    AUTH_LDAP_USER_SEARCH_FILTER = env_str("AUTH_LDAP_USER_SEARCH_FILTER",
                                           "(sAMAccountName=%(user)s)")
    # StartTLS only upgrades plain ldap://; an ldaps:// connection is encrypted already.
    AUTH_LDAP_START_TLS = (env_bool("AUTH_LDAP_START_TLS", True)
                           and not AUTH_LDAP_SERVER_URI.lower().startswith("ldaps://"))
    AUTH_LDAP_USER_ATTR_MAP = {"first_name": "givenName", "last_name": "sn", "email": "mail"}
    if AUTH_LDAP_USER_SEARCH_BASE and not AUTH_LDAP_USER_DN_TEMPLATE:
        # django-auth-ldap wants a search object; build it from the two plain variables.
        import ldap
        from django_auth_ldap.config import LDAPSearch

        AUTH_LDAP_USER_SEARCH = LDAPSearch(AUTH_LDAP_USER_SEARCH_BASE, ldap.SCOPE_SUBTREE,
                                           AUTH_LDAP_USER_SEARCH_FILTER)
        # Active Directory answers searches on the domain root with referrals that python-ldap
        # would follow anonymously; not following them is the usual AD setting.
        AUTH_LDAP_CONNECTION_OPTIONS = {ldap.OPT_REFERRALS: 0}
    AUTHENTICATION_BACKENDS.append("beistand.accounts.ldap.EmployeeLDAPBackend")

# --- E-mail -------------------------------------------------------------------------------------
# The environment uses Django's classic names (EMAIL_HOST, ...); they feed Django 6.1's MAILERS.
_email_host = env_str("EMAIL_HOST", "")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "beistand@localhost")
if _email_host:
    MAILERS = {"default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": _email_host,
            "port": env_int("EMAIL_PORT", 25),
            "username": env_str("EMAIL_HOST_USER", ""),
            "password": env_str("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            "timeout": env_int("EMAIL_TIMEOUT", 10),
        },
    }}
else:
    # Without an SMTP server mails are written to files under DATA_DIR, never lost silently.
    MAILERS = {"default": {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": str(DATA_DIR / "mail")},
    }}
# A mail the SMTP server does not take is retried: first after MAIL_RETRY_SECONDS, doubling per
# failure (at most an hour apart), MAIL_MAX_ATTEMPTS times in all; then it is marked failed.
MAIL_MAX_ATTEMPTS = env_int("BEISTAND_MAIL_MAX_ATTEMPTS", 10)
MAIL_RETRY_SECONDS = env_int("BEISTAND_MAIL_RETRY_SECONDS", 60)

# --- Background tasks (Django's built-in tasks framework) --------------------------------------
# Jobs are rows in the database, written in the same transaction as the action that causes them
# (so a committed action always has its job, and a restart loses none); `beistand worker` runs
# them.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# --- Reports and register ---------------------------------------------------------------------
# Entry threshold: lowest hazard level (Aachener Modell 0-3) that may lead to a register entry.
REGISTER_ENTRY_THRESHOLD = env_int("BEISTAND_REGISTER_THRESHOLD", 2)
# Deadlines of the workflow steps, in hours after the step became due.
REPORT_DEADLINE_RELEASE_HOURS = env_int("BEISTAND_DEADLINE_RELEASE_HOURS", 24)
REPORT_DEADLINE_COMPLAINT_HOURS = env_int("BEISTAND_DEADLINE_COMPLAINT_HOURS", 72)
REPORT_DEADLINE_ZKS_HOURS = env_int("BEISTAND_DEADLINE_ZKS_HOURS", 72)
# A reminder goes out this many hours before a deadline; after it, the case escalates.
REPORT_REMINDER_HOURS_BEFORE = env_int("BEISTAND_REMINDER_HOURS_BEFORE", 4)
# Retention of register entries (design defaults; BSchG NRW's own periods were not readable).
REGISTER_REVIEW_YEARS = env_int("BEISTAND_REGISTER_REVIEW_YEARS", 2)
REGISTER_DELETE_YEARS = env_int("BEISTAND_REGISTER_DELETE_YEARS", 5)
# The access log of look-ups is deleted after this many days (BZRG §21a: one year).
REGISTER_ACCESS_LOG_DAYS = env_int("BEISTAND_REGISTER_ACCESS_LOG_DAYS", 365)
# Misuse signals shown to the DPO: look-ups per querier and day above this; the same person
# looked up by at least this many units within 30 days; look-ups outside these hours (local).
MISUSE_LOOKUPS_PER_DAY = env_int("BEISTAND_MISUSE_LOOKUPS_PER_DAY", 20)
MISUSE_UNITS_PER_PERSON = env_int("BEISTAND_MISUSE_UNITS_PER_PERSON", 3)
# Hard limits on look-ups per querier (429 beyond them; 0: no limit), counted in the access log.
LOOKUP_LIMIT_PER_MINUTE = env_int("BEISTAND_LOOKUP_LIMIT_PER_MINUTE", 20)
LOOKUP_LIMIT_PER_DAY = env_int("BEISTAND_LOOKUP_LIMIT_PER_DAY", 200)
WORKING_HOURS = env_str("BEISTAND_WORKING_HOURS", "07:00-19:00")
# Shared mailbox of the ZKS (I/3): informed of every submitted report.
ZKS_MAILBOX = env_str("BEISTAND_ZKS_MAILBOX", "zks@localhost")
# Attachments: images and PDF up to this size.
ATTACHMENT_MAX_BYTES = env_int("BEISTAND_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Virus scanning of uploads with ClamAV (clamd's INSTREAM): "tcp://host:3310" or
# "unix:///run/clamav/clamd.ctl"; empty: no scanning. Infected files are refused; when the
# scanner cannot be reached uploads are refused too (fail closed) unless CLAMD_FAIL_OPEN.
CLAMD = env_str("BEISTAND_CLAMD", "")
CLAMD_TIMEOUT = env_int("BEISTAND_CLAMD_TIMEOUT", 30)
CLAMD_FAIL_OPEN = env_bool("BEISTAND_CLAMD_FAIL_OPEN", False)
# Statutory accident insurer of the body: addressee of the accident report (Unfallanzeige). Most
# NRW municipalities are insured with the Unfallkasse NRW; other bodies set their own.
ACCIDENT_INSURER = env_str("BEISTAND_ACCIDENT_INSURER", "Unfallkasse Nordrhein-Westfalen")
# Statistics: counts below this (k) are withheld as "< k", with secondary suppression.
STATS_MIN_CELL = env_int("BEISTAND_STATS_MIN_CELL", 5)

# --- Silent alarm -------------------------------------------------------------------------------
# How stored alarm events reach the server processes that hold the receivers' connections:
# "inprocess" (one process; the default on SQLite), "postgres" (LISTEN/NOTIFY, sent in the same
# transaction as the events; the default on PostgreSQL), or "redis" (PUBLISH after commit to
# REDIS_URL). Every backend is backed by a poll of the stored events, so a lost notification
# delays an event by at most ALARM_SWEEP_SECONDS but never loses it.
ALARM_FANOUT = env_str("BEISTAND_ALARM_FANOUT", "auto")
ALARM_SWEEP_SECONDS = env_int("BEISTAND_ALARM_SWEEP_SECONDS", 1)
# Heartbeat of alarm WebSocket connections; a connection silent for 3x this is closed.
ALARM_HEARTBEAT_SECONDS = env_int("BEISTAND_ALARM_HEARTBEAT_SECONDS", 15)
# An event a client has not receipted is sent again after this many seconds.
ALARM_RESEND_SECONDS = env_int("BEISTAND_ALARM_RESEND_SECONDS", 10)
# Stored events are kept this many days for clients that resume after a long absence.
ALARM_EVENT_RETENTION_DAYS = env_int("BEISTAND_ALARM_EVENT_RETENTION_DAYS", 7)
# Default countdown (seconds, cancellable) per trigger source, e.g. "tray=3,app=0". Sources not
# named have none; hardware buttons should have none.
ALARM_COUNTDOWNS = env_list("BEISTAND_ALARM_COUNTDOWNS", [])
# Device trigger URLs: a new alarm per device at most every N seconds (repeats return the running
# alarm), and at most M calls per hour (then 429; the running alarm stays).
ALARM_DEVICE_MIN_INTERVAL_SECONDS = env_int("BEISTAND_ALARM_DEVICE_MIN_INTERVAL_SECONDS", 10)
ALARM_DEVICE_MAX_PER_HOUR = env_int("BEISTAND_ALARM_DEVICE_MAX_PER_HOUR", 30)
# A person's alarms: beyond this many within a minute, while one of them is still open, a new
# trigger is refused with 429 (flood protection; 0: no limit). The first alarms always go out,
# and after the all-clear a new alarm is never refused.
ALARM_USER_MAX_PER_MINUTE = env_int("BEISTAND_ALARM_USER_MAX_PER_MINUTE", 5)
# A unit's head is reminded to run a Probealarm when the unit had none for this many days
# (0: no reminders); the worker checks daily.
ALARM_TEST_REMINDER_DAYS = env_int("BEISTAND_ALARM_TEST_REMINDER_DAYS", 90)
# A receiver's GPS position counts for distances for this many minutes.
ALARM_POSITION_MAX_AGE_MINUTES = env_int("BEISTAND_ALARM_POSITION_MAX_AGE_MINUTES", 15)
# SMS gateway for alarm fallbacks: "none", "http" (generic JSON provider) or "gammu" (a
# Gammu-SMSD outbox spool directory).
SMS_PROVIDER = env_str("BEISTAND_SMS_PROVIDER", "none")
SMS_HTTP_URL = env_str("BEISTAND_SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env_str("BEISTAND_SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT = env_int("BEISTAND_SMS_HTTP_TIMEOUT", 5)
SMS_GAMMU_OUTBOX = env_str("BEISTAND_SMS_GAMMU_OUTBOX", "/var/spool/gammu/outbox")
SMS_SENDER = env_str("BEISTAND_SMS_SENDER", "beistand")
SMS_MAX_ATTEMPTS = env_int("BEISTAND_SMS_MAX_ATTEMPTS", 5)
# Shared secret of inbound SMS and delivery reports (HMAC-SHA256 of the body).
SMS_INBOUND_SECRET = env_str("BEISTAND_SMS_INBOUND_SECRET", "")
# The number phones send alarm SMS to (shown to the phone app for its offline fallback).
SMS_GATEWAY_NUMBER = env_str("BEISTAND_SMS_GATEWAY_NUMBER", "")
# Web Push (VAPID) to installed phone web apps, in addition to WebSocket and SMS. Without keys
# no push is sent. "beistand alarm vapid-keys" makes a key pair.
VAPID_PRIVATE_KEY = env_str("BEISTAND_VAPID_PRIVATE_KEY", "")
VAPID_PUBLIC_KEY = env_str("BEISTAND_VAPID_PUBLIC_KEY", "")
VAPID_SUBJECT = env_str("BEISTAND_VAPID_SUBJECT", "mailto:admin@localhost")

# --- Phone web app (/app/) and lone-worker timer ------------------------------------------------
# How the app's alarm button triggers: "hold" (press and hold for APP_HOLD_MS) or "slide".
APP_TRIGGER_MODE = env_str("BEISTAND_APP_TRIGGER_MODE", "hold")
APP_HOLD_MS = env_int("BEISTAND_APP_HOLD_MS", 1500)
# Without an answer from the server within this many seconds the app offers the alarm SMS.
APP_SMS_FALLBACK_SECONDS = env_int("BEISTAND_APP_SMS_FALLBACK_SECONDS", 5)
# Visits (Zeitalarm): ask "Alles in Ordnung?" this many minutes before the expected end (at most
# half-way through), pre-alarm at the end, the real alarm this many minutes later.
VISIT_CHECKIN_MINUTES = env_int("BEISTAND_VISIT_CHECKIN_MINUTES", 5)
VISIT_PREALARM_MINUTES = env_int("BEISTAND_VISIT_PREALARM_MINUTES", 2)
VISIT_MAX_MINUTES = env_int("BEISTAND_VISIT_MAX_MINUTES", 480)
VISIT_ALARM_TEMPLATE = env_str("BEISTAND_VISIT_ALARM_TEMPLATE", "bedrohung")

# --- Backups (beistand backup / beistand restore) -----------------------------------------------
# Passphrase the backup archives are encrypted with (AES-256-GCM, key derived per file with
# scrypt). Without it, neither backup nor restore runs. Keep it apart from the backups.
BACKUP_KEY = env_str("BEISTAND_BACKUP_KEY", "")
# Append-only journal of register deletions, replayed after a restore of an older backup.
DELETION_JOURNAL = Path(env_str("BEISTAND_DELETION_JOURNAL",
                                str(DATA_DIR / "deletions.log"))).resolve()

# --- Operations: health, metrics, supervision, logs ---------------------------------------------
# /metrics answers a request carrying "Authorization: Bearer <token>"; without a token set,
# only requests from the loopback address (a Prometheus on the same machine).
METRICS_TOKEN = env_str("BEISTAND_METRICS_TOKEN", "")
# /health/ready fails when no worker wrote its heartbeat for this many seconds.
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env_int("BEISTAND_WORKER_HEARTBEAT_MAX_AGE_SECONDS", 180)
# The SMS gateway check of /health/ready asks this URL (http provider; default the gateway URL).
SMS_HTTP_STATUS_URL = env_str("BEISTAND_SMS_HTTP_STATUS_URL", "")
# Alarm supervision (in the worker): units whose first alarm tier has nobody online during
# these hours and weekdays (1 = Monday), and an SMS gateway failing this many times in a row,
# raise a technical alert to the administrators (e-mail) and the on-call phone (SMS).
SUPERVISION_HOURS = env_str("BEISTAND_SUPERVISION_HOURS", "07:00-18:00")
SUPERVISION_WEEKDAYS = env_list("BEISTAND_SUPERVISION_WEEKDAYS", ["1", "2", "3", "4", "5"])
SUPERVISION_SMS_FAILURES = env_int("BEISTAND_SUPERVISION_SMS_FAILURES", 3)
ONCALL_PHONE = env_str("BEISTAND_ONCALL_PHONE", "")
# The daily synthetic Probealarm (local time HH:MM; empty: off) against this server URL.
PROBE_TIME = env_str("BEISTAND_PROBE_TIME", "06:30")
PROBE_URL = env_str("BEISTAND_PROBE_URL", "")
PROBE_TIMEOUT_SECONDS = env_int("BEISTAND_PROBE_TIMEOUT_SECONDS", 20)
# Log lines as text (default) or one JSON object per line ("json", for log collectors).
LOG_FORMAT = env_str("BEISTAND_LOG_FORMAT", "text")

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", "Deutsch")]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every start when it is missing
NODE_MODULES = Path(env_str("BEISTAND_NODE_MODULES", str(PROJECT_ROOT / "node_modules")))
STATICFILES_DIRS = [
    ("vendor/kern", NODE_MODULES / "@kern-ux" / "native" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.exists()]
# Files uploaded by users live outside the web root and are served only through views.
MEDIA_ROOT = DATA_DIR / "uploads"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Request size limits: larger bodies get 413 before any processing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("BEISTAND_MAX_BODY_BYTES", 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# --- Security headers -------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HSTS: browsers use only HTTPS for this installation for this long (sent on HTTPS responses
# only, so also behind a TLS-terminating proxy with BEISTAND_BEHIND_PROXY). 0 switches it off.
SECURE_HSTS_SECONDS = env_int("BEISTAND_HSTS_SECONDS", 31536000 if SECURE_COOKIES else 0)
X_FRAME_OPTIONS = "DENY"
# A German page (problem+json under /api/) instead of Django's English CSRF failure page.
CSRF_FAILURE_VIEW = "beistand.web.errors.csrf_failure"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "beistand.ops.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             **({"formatter": "json"} if LOG_FORMAT == "json" else {})}},
    "root": {"handlers": ["console"], "level": env_str("BEISTAND_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
