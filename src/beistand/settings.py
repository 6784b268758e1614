"""The one settings module of beistand.

Every environment variable the system reads is read here, through ``env_*`` helpers, and is
documented in ``docs/configuration.md`` with its default. A test
(``tests/core/test_configuration_doc.py``) fails when a variable read here is missing there.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from beistand.core.env import (
    env_bool,
    env_choice,
    env_choices,
    env_float,
    env_int,
    env_list,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent
# The repository root in a development checkout (src/beistand -> ..); used for node_modules.
PROJECT_ROOT = BASE_DIR.parent.parent

DATA_DIR = Path(env_str("BEISTAND_DATA_DIR", str(Path.cwd() / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

# Demo mode: password "demo" for the demo accounts, no 2FA, a visible banner. Never in production.
DEMO_MODE = env_bool("BEISTAND_DEMO", False)
DEBUG = env_bool("BEISTAND_DEBUG", False)


# A set BEISTAND_SECRET_KEY must be at least this long and no placeholder (docs/configuration.md).
SECRET_KEY_MIN_LENGTH = 32
_SECRET_PLACEHOLDERS = ("changeme", "change-me", "change_me", "replace", "example", "insecure",
                        "placeholder", "your-secret", "xxxx", "todo")


def _secret_key() -> str:
    """Use BEISTAND_SECRET_KEY, else a random key persisted (mode 0600) under DATA_DIR."""
    key = env_str("BEISTAND_SECRET_KEY", "")
    if key:
        lowered = key.lower()
        if any(word in lowered for word in _SECRET_PLACEHOLDERS) or len(set(key)) < 8:
            raise ImproperlyConfigured(
                "BEISTAND_SECRET_KEY is a placeholder; set a random key: "
                'python3 -c "import secrets; print(secrets.token_urlsafe(50))"')
        if len(key) < SECRET_KEY_MIN_LENGTH:
            raise ImproperlyConfigured(
                f"BEISTAND_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters "
                f"(got {len(key)}); leave it empty to have one generated under BEISTAND_DATA_DIR")
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # Written aside and linked into place: two processes starting at once agree on one key.
        scratch = DATA_DIR / f".secret_key.{os.getpid()}"
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
        try:
            os.link(scratch, key_file)
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
# Loopback names are always allowed: health checks, metrics, the upgrade loop and the Probealarm
# reach each process directly on 127.0.0.1:<port> (nginx passes the public name).
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS = env_list("BEISTAND_ALLOWED_HOSTS", LOOPBACK_HOSTS)
ALLOWED_HOSTS += [host for host in LOOPBACK_HOSTS if host not in ALLOWED_HOSTS]
CSRF_TRUSTED_ORIGINS = env_list("BEISTAND_CSRF_TRUSTED_ORIGINS", [])
# Public base URL, used in e-mails, TOTP labels and the answer links of alarm SMS (which is why
# it is bounded: the link must fit into the SMS).
BASE_URL = env_str("BEISTAND_BASE_URL", "http://127.0.0.1:8000")
if len(BASE_URL) > 100 or not BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("BEISTAND_BASE_URL must be an http(s) URL of at most 100 "
                               f"characters, got {BASE_URL!r}")

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
    # A DomainError a view does not handle becomes the German error page (thin views).
    "beistand.core.middleware.DomainErrorMiddleware",
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
    # Axes first: it refuses locked-out credentials before any other backend is asked; then the
    # limits per account, per source and per password (spraying), accounts/lockout.py.
    "axes.backends.AxesStandaloneBackend",
    "beistand.accounts.lockout.SprayGuardBackend",
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
LOCKOUT_MINUTES = env_int("BEISTAND_LOCKOUT_MINUTES", 15)
AXES_COOLOFF_TIME = LOCKOUT_MINUTES / 60  # hours
# Beyond axes' (user name, address) pair: failures of one account from any address, of one
# source address for any accounts, and accounts one password failed on (spraying).
LOCKOUT_ACCOUNT_FAILURES = env_int("BEISTAND_LOCKOUT_ACCOUNT_FAILURES", 20)
LOCKOUT_SOURCE_FAILURES = env_int("BEISTAND_LOCKOUT_SOURCE_FAILURES", 30)
LOCKOUT_PASSWORD_ACCOUNTS = env_int("BEISTAND_LOCKOUT_PASSWORD_ACCOUNTS", 5)
# IPv6 sources count per network of this many bits (a line gets a whole /64); the account limit
# spares sources the account logged in from within this many days (accounts/lockout.py).
LOCKOUT_IPV6_PREFIX = env_int("BEISTAND_LOCKOUT_IPV6_PREFIX", 64)
if not 32 <= LOCKOUT_IPV6_PREFIX <= 128:
    raise ImproperlyConfigured(f"BEISTAND_LOCKOUT_IPV6_PREFIX must be 32..128, got "
                               f"{LOCKOUT_IPV6_PREFIX}")
LOCKOUT_KNOWN_SOURCE_DAYS = env_int("BEISTAND_LOCKOUT_KNOWN_SOURCE_DAYS", 90)
for _name, _value in (("BEISTAND_LOCKOUT_KNOWN_SOURCE_DAYS", LOCKOUT_KNOWN_SOURCE_DAYS),
                      ("BEISTAND_LOCKOUT_MINUTES", LOCKOUT_MINUTES),
                      ("BEISTAND_LOCKOUT_ACCOUNT_FAILURES", LOCKOUT_ACCOUNT_FAILURES),
                      ("BEISTAND_LOCKOUT_SOURCE_FAILURES", LOCKOUT_SOURCE_FAILURES),
                      ("BEISTAND_LOCKOUT_PASSWORD_ACCOUNTS", LOCKOUT_PASSWORD_ACCOUNTS)):
    if _value < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1, got {_value}")
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "beistand.accounts.lockout.locked_out_response"
AXES_CLIENT_IP_CALLABLE = "beistand.accounts.lockout.client_source"
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

# Background work: e-mails are outbox rows written in the transaction of the action that causes
# them (beistand.notify.outbox); `beistand worker` sends them and runs the periodic jobs every app
# declares in its jobs.py (beistand.ops.scheduler).

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
# Register look-up: match probability from which a candidate is shown ("möglich"), and the
# levels "wahrscheinlich" and "sicher" (docs/register.md). 0 < shown < likely < sure < 1.
MATCH_SHOWN = env_float("BEISTAND_MATCH_SHOWN", 0.5)
MATCH_LIKELY = env_float("BEISTAND_MATCH_LIKELY", 0.95)
MATCH_SURE = env_float("BEISTAND_MATCH_SURE", 0.999)
if not 0 < MATCH_SHOWN < MATCH_LIKELY < MATCH_SURE < 1:
    raise ImproperlyConfigured(
        "BEISTAND_MATCH_SHOWN < BEISTAND_MATCH_LIKELY < BEISTAND_MATCH_SURE must be "
        f"probabilities between 0 and 1 in this order, got {MATCH_SHOWN}, {MATCH_LIKELY}, "
        f"{MATCH_SURE}")
# Surname frequencies weigh the agreement (Müller counts less than Krawczyk) once the register
# holds at least this many persons; surnames carried by more persons than MATCH_WIDE_PROBE_MAX
# are not probed alone (they cannot reach MATCH_SHOWN without a second field).
MATCH_FREQUENCY_MIN_PERSONS = env_int("BEISTAND_MATCH_FREQUENCY_MIN_PERSONS", 1000)
MATCH_WIDE_PROBE_MAX = env_int("BEISTAND_MATCH_WIDE_PROBE_MAX", 200)
if MATCH_FREQUENCY_MIN_PERSONS < 1 or MATCH_WIDE_PROBE_MAX < 1:
    raise ImproperlyConfigured(
        "BEISTAND_MATCH_FREQUENCY_MIN_PERSONS and BEISTAND_MATCH_WIDE_PROBE_MAX must be "
        "positive integers")
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
# PDF layout and charts run in this many separate worker processes per server process, at a
# lower CPU priority (nice +RENDER_NICE), so the process that serves alarms never holds its
# interpreter for a document (issue 19). 0 renders in the calling process (debugging only).
RENDER_PROCESSES = env_int("BEISTAND_RENDER_PROCESSES", 1)
RENDER_TIMEOUT_SECONDS = env_int("BEISTAND_RENDER_TIMEOUT_SECONDS", 120)
RENDER_NICE = env_int("BEISTAND_RENDER_NICE", 5)
if not (0 <= RENDER_PROCESSES <= 16 and 1 <= RENDER_TIMEOUT_SECONDS <= 3600
        and 0 <= RENDER_NICE <= 19):
    raise ImproperlyConfigured("BEISTAND_RENDER_PROCESSES must be 0..16, "
                               "BEISTAND_RENDER_TIMEOUT_SECONDS 1..3600, "
                               "BEISTAND_RENDER_NICE 0..19")
# Statutory accident insurer of the body: addressee of the accident report (Unfallanzeige). Most
# NRW municipalities are insured with the Unfallkasse NRW; other bodies set their own.
ACCIDENT_INSURER = env_str("BEISTAND_ACCIDENT_INSURER", "Unfallkasse Nordrhein-Westfalen")
# Statistics: counts below this (k) are withheld as "< k", with secondary suppression.
STATS_MIN_CELL = env_int("BEISTAND_STATS_MIN_CELL", 5)
# Cell key method: published counts get a consistent noise of -D..+D (docs/statistics.md);
# 0 switches it off (never in production). Must stay below STATS_MIN_CELL (no negative counts).
STATS_NOISE = env_int("BEISTAND_STATS_NOISE", 2)
if not 0 <= STATS_NOISE < max(STATS_MIN_CELL, 1) or STATS_NOISE > 5:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("BEISTAND_STATS_NOISE must be 0..5 and below "
                               "BEISTAND_STATS_MIN_CELL")

# --- Silent alarm -------------------------------------------------------------------------------
# How stored alarm events reach the server processes that hold the receivers' connections:
# "inprocess" (one process; the default on SQLite), "postgres" (LISTEN/NOTIFY, sent in the same
# transaction as the events; the default on PostgreSQL), or "redis" (PUBLISH after commit to
# REDIS_URL). Every backend is backed by a poll of the stored events, so a lost notification
# delays an event by at most ALARM_SWEEP_SECONDS but never loses it.
ALARM_FANOUT = env_choice("BEISTAND_ALARM_FANOUT", "auto",
                          ("auto", "inprocess", "postgres", "redis"))
ALARM_SWEEP_SECONDS = env_int("BEISTAND_ALARM_SWEEP_SECONDS", 1)
# Heartbeat of alarm WebSocket connections; a connection silent for 3x this is closed.
ALARM_HEARTBEAT_SECONDS = env_int("BEISTAND_ALARM_HEARTBEAT_SECONDS", 15)
# For this many seconds after a server process starts, its clients are still reconnecting:
# an escalation tier that looks empty then waits its timeout instead of being skipped at once.
ALARM_RECONNECT_GRACE_SECONDS = env_int("BEISTAND_ALARM_RECONNECT_GRACE_SECONDS", 0)
if not 0 <= ALARM_RECONNECT_GRACE_SECONDS <= 300:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("BEISTAND_ALARM_RECONNECT_GRACE_SECONDS must be 0..300")
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
# A client_id deduplicates retries of the same press for this many seconds (then, or after the
# all-clear, the same client_id is a new press: fixed trigger URLs work for every press).
ALARM_CLIENT_ID_WINDOW_SECONDS = env_int("BEISTAND_ALARM_CLIENT_ID_WINDOW_SECONDS", 300)
if not 1 <= ALARM_CLIENT_ID_WINDOW_SECONDS <= 86400:
    raise ImproperlyConfigured("BEISTAND_ALARM_CLIENT_ID_WINDOW_SECONDS must be 1..86400")
# A person's alarms: beyond this many within a minute, while one of them is still open, a new
# trigger is refused with 429 (flood protection; 0: no limit). The first alarms always go out,
# and after the all-clear a new alarm is never refused.
ALARM_USER_MAX_PER_MINUTE = env_int("BEISTAND_ALARM_USER_MAX_PER_MINUTE", 5)
# A unit's head is reminded to run a Probealarm when the unit had none for this many days
# (0: no reminders); the worker checks daily.
ALARM_TEST_REMINDER_DAYS = env_int("BEISTAND_ALARM_TEST_REMINDER_DAYS", 90)
# An alarm whose plan is exhausted with nobody coming stays open and its last tier is notified
# again (SMS, Web Push, e-mail) every this many minutes until someone comes or it is resolved.
ALARM_RENOTIFY_MINUTES = env_int("BEISTAND_ALARM_RENOTIFY_MINUTES", 5)
if not 1 <= ALARM_RENOTIFY_MINUTES <= 120:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("BEISTAND_ALARM_RENOTIFY_MINUTES must be 1..120")
# A receiver whose only connected clients report a locked screen (desktop "seat" frame) counts
# as not reachable: an escalation tier with only such receivers is skipped at once.
ALARM_LOCKED_SEAT_COUNTS_OFFLINE = env_bool("BEISTAND_ALARM_LOCKED_SEAT_COUNTS_OFFLINE", True)
# A receiver's GPS position counts for distances for this many minutes.
ALARM_POSITION_MAX_AGE_MINUTES = env_int("BEISTAND_ALARM_POSITION_MAX_AGE_MINUTES", 15)
# SMS gateway for alarm fallbacks: "none", "http" (generic JSON provider) or "gammu" (a
# Gammu-SMSD outbox spool directory).
SMS_PROVIDER = env_choice("BEISTAND_SMS_PROVIDER", "none", ("none", "http", "gammu"))
SMS_HTTP_URL = env_str("BEISTAND_SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env_str("BEISTAND_SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT = env_int("BEISTAND_SMS_HTTP_TIMEOUT", 5)
SMS_GAMMU_OUTBOX = env_str("BEISTAND_SMS_GAMMU_OUTBOX", "/var/spool/gammu/outbox")
SMS_SENDER = env_str("BEISTAND_SMS_SENDER", "beistand")
SMS_MAX_ATTEMPTS = env_int("BEISTAND_SMS_MAX_ATTEMPTS", 5)
# Shared secret of inbound SMS and delivery reports (HMAC-SHA256 of the body).
SMS_INBOUND_SECRET = env_str("BEISTAND_SMS_INBOUND_SECRET", "")
# An inbound SMS whose signed received_at is further than this from now is a replay: refused.
SMS_INBOUND_WINDOW_SECONDS = env_int("BEISTAND_SMS_INBOUND_WINDOW_SECONDS", 300)
if not 10 <= SMS_INBOUND_WINDOW_SECONDS <= 3600:
    raise ImproperlyConfigured("BEISTAND_SMS_INBOUND_WINDOW_SECONDS must be 10..3600")
# The number phones send alarm SMS to (shown to the phone app for its offline fallback).
SMS_GATEWAY_NUMBER = env_str("BEISTAND_SMS_GATEWAY_NUMBER", "")
# The SMS gateway's call API (http provider): the last-resort tier and re-notification also call
# offline receivers with a short text-to-speech message; they answer with key 1 or 2, which the
# gateway posts back signed. Empty: no calls.
SMS_CALL_URL = env_str("BEISTAND_SMS_CALL_URL", "").strip()
if SMS_CALL_URL:
    from urllib.parse import urlsplit

    _call = urlsplit(SMS_CALL_URL)
    if _call.scheme not in ("http", "https") or not _call.hostname:
        raise ImproperlyConfigured("BEISTAND_SMS_CALL_URL must be an http(s) URL, got "
                                   f"{SMS_CALL_URL!r}")
    if SMS_PROVIDER != "http":
        raise ImproperlyConfigured("BEISTAND_SMS_CALL_URL needs BEISTAND_SMS_PROVIDER=http (the "
                                   "call API is the HTTP gateway's)")
# Settings that only work together: a fan-out backend without its server, an SMS provider
# without its address would start a system whose alarms never reach the other processes or
# whose last resort (SMS) silently sends nothing.
if ALARM_FANOUT == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("BEISTAND_ALARM_FANOUT=redis needs REDIS_URL (the Redis server "
                               "the server processes publish alarm events to)")
if ALARM_FANOUT == "postgres" and "postgresql" not in DATABASES["default"]["ENGINE"]:
    raise ImproperlyConfigured("BEISTAND_ALARM_FANOUT=postgres needs a PostgreSQL DATABASE_URL "
                               "(it uses LISTEN/NOTIFY); on SQLite use auto or inprocess")
if SMS_PROVIDER == "http":
    from urllib.parse import urlsplit as _urlsplit

    _send = _urlsplit(SMS_HTTP_URL.strip())
    if _send.scheme not in ("http", "https") or not _send.hostname:
        raise ImproperlyConfigured("BEISTAND_SMS_PROVIDER=http needs BEISTAND_SMS_HTTP_URL, an "
                                   f"http(s) URL of the gateway; got {SMS_HTTP_URL!r}")
# Every alarm SMS to a receiver carries a one-time answer link (BASE_URL/a/<token>); it expires
# when the alarm ends or after this many hours. More than ALARM_ANSWER_LINK_MAX_MISSES requests
# for unknown or expired links from one address within 10 minutes get 429.
ALARM_ANSWER_LINK_HOURS = env_int("BEISTAND_ALARM_ANSWER_LINK_HOURS", 12)
if not 1 <= ALARM_ANSWER_LINK_HOURS <= 168:
    raise ImproperlyConfigured("BEISTAND_ALARM_ANSWER_LINK_HOURS must be 1..168")
ALARM_ANSWER_LINK_MAX_MISSES = env_int("BEISTAND_ALARM_ANSWER_LINK_MAX_MISSES", 20)
if not 1 <= ALARM_ANSWER_LINK_MAX_MISSES <= 10000:
    raise ImproperlyConfigured("BEISTAND_ALARM_ANSWER_LINK_MAX_MISSES must be 1..10000")
# Web Push (VAPID) to installed phone web apps, in addition to WebSocket and SMS. Without keys
# no push is sent. "beistand alarm vapid-keys" makes a key pair.
VAPID_PRIVATE_KEY = env_str("BEISTAND_VAPID_PRIVATE_KEY", "")
VAPID_PUBLIC_KEY = env_str("BEISTAND_VAPID_PUBLIC_KEY", "")
VAPID_SUBJECT = env_str("BEISTAND_VAPID_SUBJECT", "mailto:admin@localhost")
# Push endpoints must be public https services; on-premise push services by host name here.
WEBPUSH_ALLOWED_HOSTS = env_list("BEISTAND_WEBPUSH_ALLOWED_HOSTS", [])

# --- Phone web app (/app/) and lone-worker timer ------------------------------------------------
# How the app's alarm button triggers: "hold" (press and hold for APP_HOLD_MS) or "slide".
APP_TRIGGER_MODE = env_choice("BEISTAND_APP_TRIGGER_MODE", "hold", ("hold", "slide"))
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

# --- Audit chain anchoring (beistand audit checkpoint / audit verify --checkpoint) --------------
# Ed25519 private key (PKCS#8 PEM) that signs the audit checkpoints; never stored in the database.
# Created (mode 0600) at the first checkpoint when missing. Keep it off the database server.
AUDIT_SIGNING_KEY_FILE = Path(env_str("BEISTAND_AUDIT_SIGNING_KEY_FILE",
                                      str(DATA_DIR / "audit_signing_key.pem"))).resolve()
# Where signed checkpoints (head sequence + hash) are appended, one JSON line each: a file on a
# disk/share the data protection officer keeps (they are also written to the log).
AUDIT_CHECKPOINT_FILE = Path(env_str("BEISTAND_AUDIT_CHECKPOINT_FILE",
                                     str(DATA_DIR / "audit-checkpoints.jsonl"))).resolve()
# How often the worker writes a checkpoint when the chain grew (minutes, at least 1).
AUDIT_CHECKPOINT_MINUTES = env_int("BEISTAND_AUDIT_CHECKPOINT_MINUTES", 60)
if AUDIT_CHECKPOINT_MINUTES < 1:
    raise ImproperlyConfigured("BEISTAND_AUDIT_CHECKPOINT_MINUTES must be at least 1")
# Checkpoints also go to the system log (syslog/journald, facility "auth"), a copy the service
# user cannot rewrite: "" (off), "/dev/log" (local socket) or "host:port" (remote syslog, UDP).
AUDIT_CHECKPOINT_SYSLOG = env_str("BEISTAND_AUDIT_CHECKPOINT_SYSLOG", "")
# Production: refuse to start while the signing key or the checkpoint file lies in the data
# directory (where the service user - and whoever took it over - can rewrite both together
# with the database). Off: a warning at start-up and in "audit verify".
AUDIT_ANCHOR_STRICT = env_bool("BEISTAND_AUDIT_ANCHOR_STRICT", False)
_anchor_in_data_dir = [name for name, path in (
    ("BEISTAND_AUDIT_SIGNING_KEY_FILE", AUDIT_SIGNING_KEY_FILE),
    ("BEISTAND_AUDIT_CHECKPOINT_FILE", AUDIT_CHECKPOINT_FILE)) if path.is_relative_to(DATA_DIR)]
if AUDIT_ANCHOR_STRICT and _anchor_in_data_dir:
    raise ImproperlyConfigured(
        f"{' and '.join(_anchor_in_data_dir)} must lie outside BEISTAND_DATA_DIR "
        "(BEISTAND_AUDIT_ANCHOR_STRICT): on a path the service user cannot write")

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
SUPERVISION_WEEKDAYS = env_choices("BEISTAND_SUPERVISION_WEEKDAYS", ["1", "2", "3", "4", "5"],
                                   ("1", "2", "3", "4", "5", "6", "7"))
SUPERVISION_SMS_FAILURES = env_int("BEISTAND_SUPERVISION_SMS_FAILURES", 3)
ONCALL_PHONE = env_str("BEISTAND_ONCALL_PHONE", "")
# The daily synthetic Probealarm (local time HH:MM; empty: off) against this server URL.
PROBE_TIME = env_str("BEISTAND_PROBE_TIME", "06:30")
PROBE_URL = env_str("BEISTAND_PROBE_URL", "")
PROBE_TIMEOUT_SECONDS = env_int("BEISTAND_PROBE_TIMEOUT_SECONDS", 20)
# Log lines as text (default) or one JSON object per line ("json", for log collectors).
LOG_FORMAT = env_choice("BEISTAND_LOG_FORMAT", "text", ("text", "json"))
LOG_LEVEL = env_choice("BEISTAND_LOG_LEVEL", "INFO",
                       ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), upper=True)

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
CSRF_FAILURE_VIEW = "beistand.core.error_pages.csrf_failure"
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

# Every handler carries the ScrubSecrets filter (tokens, signatures and secret parameters out of
# messages, tracebacks and paths, beistand/core/logscrub.py). Django's own handlers - its console
# handler under BEISTAND_DEBUG and runserver's - are replaced: its loggers write through ours.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_secrets": {"()": "beistand.core.logscrub.ScrubSecrets"}},
    "formatters": {"json": {"()": "beistand.ops.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["scrub_secrets"],
                             **({"formatter": "json"} if LOG_FORMAT == "json" else {})}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"},
                "django": {"handlers": [], "level": "INFO", "propagate": True},
                "django.server": {"handlers": [], "level": "INFO", "propagate": True}},
}
