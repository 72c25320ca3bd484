"""Settings for the conference dial-in dashboard, read from the environment.

Every variable has a working local default (see .env.example); bad values stop the
process at start with a message naming the variable.
"""

from __future__ import annotations

import os
import sys
import zoneinfo
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from dashboard.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_sid,
    env_str,
    env_url,
    secret_key_from,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
TESTING = "pytest" in sys.modules or env_bool("TESTING", False)
SECRET_KEY = secret_key_from(os.environ, VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

TIME_ZONE = env_str("TIME_ZONE", "UTC")
if TIME_ZONE not in zoneinfo.available_timezones():
    raise ImproperlyConfigured(f"TIME_ZONE must be an IANA time zone name, not {TIME_ZONE!r}")
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    # django-ninja (/api/v1/): listed so its docs page uses its bundled Swagger UI, not a CDN.
    "ninja",
    "axes",
    "conferences",
]

MIDDLEWARE = [
    "dashboard.observability.RequestIdMiddleware",
    # Before anything that asks for the host: a refused webhook still counts (issue 18).
    "conferences.callbacks.middleware.WebhookRefusalsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "conferences.accounts.middleware.UserTimeZoneMiddleware",
    "conferences.accounts.middleware.PersonalDataNoStoreMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "conferences.accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "sqlite:///var/db.sqlite3")
DATABASES = {"default": database_from_url(DATABASE_URL, base_dir=BASE_DIR)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis and Celery -----------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "dashboard")
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "") if TESTING else ""
if TESTING:
    # Parallel test processes must not see each other's tasks, heartbeats or rate limits:
    # each gets its own Redis database (1, 2, …; 0 stays for people) and queue name.
    # TEST_REDIS_DB_OFFSET lets two test runs on one machine stay apart too.
    _worker_index = int(_XDIST_WORKER.removeprefix("gw") or 0)
    _redis_db = 1 + env_int("TEST_REDIS_DB_OFFSET", 0, minimum=0, maximum=13) + _worker_index
    REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + f"/{_redis_db}"
    CELERY_TASK_DEFAULT_QUEUE = f"test-{_XDIST_WORKER or 'main'}"
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes every database connection before and after each task unless
# told how many tasks may share one; each dial then paid for a new PostgreSQL connection
# (a server process forked, the session set up), 9 % of a worker's time at CPS 50. It is
# told "practically never", and dashboard/celery.py closes connections by Django's own rule
# instead, as after a web request: older than CONN_MAX_AGE, or broken.
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90, minimum=2)
# Redis redelivers an unacknowledged task only after the visibility timeout, and delivers
# a task twice if its countdown is longer than that: keep the hard limit plus the longest
# retry backoff well under it (checked below).
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Our LOGGING config writes to stderr; Celery's redirect would swallow task logs.
CELERY_WORKER_REDIRECT_STDOUTS = False
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ROUTES = {"conferences.*": {"queue": CELERY_TASK_DEFAULT_QUEUE}}
# The `callbacks` process (manage.py apply_callbacks) looks for newly stored callbacks this
# often when idle: the receiver stores them and asks nobody, so this is their latency.
CALLBACK_APPLY_POLL_SECONDS = env_float("CALLBACK_APPLY_POLL_SECONDS", 0.05, minimum=0.005)
# Appliers (threads, each with its own database connection) in one `callbacks` process.
CALLBACK_APPLY_CONCURRENCY = env_int("CALLBACK_APPLY_CONCURRENCY", 4, minimum=1, maximum=32)
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 5.0, minimum=0.1)
WORKER_HEARTBEAT_KEY_PREFIX = f"dashboard:{CELERY_TASK_DEFAULT_QUEUE}:worker-heartbeat:"

DIAL_MAX_ATTEMPTS = env_int("DIAL_MAX_ATTEMPTS", 6, minimum=1)
DIAL_RETRY_BASE_SECONDS = env_float("DIAL_RETRY_BASE_SECONDS", 1.0, minimum=0.0)
DIAL_RETRY_MAX_SECONDS = env_float("DIAL_RETRY_MAX_SECONDS", 60.0, minimum=0.0)
# After an attempt with an unknown outcome, wait this long before looking for the call:
# a call queued behind the account's CPS appears late in the Calls list.
DIAL_VERIFY_GRACE_SECONDS = env_float("DIAL_VERIFY_GRACE_SECONDS", 5.0, minimum=0.0)
# A pending dial not picked up this long after it was due is re-enqueued by the sweeper.
DIAL_LOST_AFTER_SECONDS = env_int("DIAL_LOST_AFTER_SECONDS", 30, minimum=1)
# A dial not placed this long after it was submitted fails with a reason.
DIAL_DEADLINE_SECONDS = env_int("DIAL_DEADLINE_SECONDS", 600, minimum=10)
# A claim whose heartbeat is older than this belongs to a dead worker (default: the hard
# time limit plus a margin, so a live task is never taken for dead).
DIAL_STALE_CLAIM_SECONDS = env_float(
    "DIAL_STALE_CLAIM_SECONDS", CELERY_TASK_TIME_LIMIT + 15.0, minimum=1.0
)
# Pace a little under the account's CPS: no window of 1 + margin seconds holds more than
# CPS calls, so the jitter between a call's slot and its request reaching Twilio never puts
# more than CPS calls into one second there (a worker later than half the margin takes
# another slot). Measured on one loaded machine: a few ms typically, 45 ms seen under a
# full test run (4 % let 5 calls into one second at CPS 4), outliers beyond under load.
DIAL_PACING_MARGIN = env_float("DIAL_PACING_MARGIN", 0.10, minimum=0.0)
# A burst of 429s (five or more, and over half the creates within the window) slows the
# account's pacing by half for a while; scattered 429s are retried without slowing everyone.
DIAL_THROTTLE_WINDOW_SECONDS = env_int("DIAL_THROTTLE_WINDOW_SECONDS", 5, minimum=1)
DIAL_THROTTLE_SLOW_SECONDS = env_int("DIAL_THROTTLE_SLOW_SECONDS", 15, minimum=1)
SWEEP_INTERVAL_SECONDS = env_float("SWEEP_INTERVAL_SECONDS", 5.0, minimum=0.5)
CELERY_BEAT_SCHEDULE = {
    "sweep-dials": {
        "task": "conferences.tasks.sweep_dials",
        "schedule": SWEEP_INTERVAL_SECONDS,
        # A sweep nobody ran in time is replaced by the next one, never piled up.
        "options": {"expires": SWEEP_INTERVAL_SECONDS},
    },
    # Applies stored callbacks should the `callbacks` process be down.
    "apply-callbacks": {
        "task": "conferences.tasks.apply_callbacks",
        "schedule": SWEEP_INTERVAL_SECONDS,
        "options": {"expires": SWEEP_INTERVAL_SECONDS},
    },
    "resend-pending-relays": {
        "task": "conferences.relay.resend_pending_relays",
        "schedule": 300.0,
        "options": {"expires": 300.0},
    },
}
if CELERY_TASK_TIME_LIMIT + DIAL_RETRY_MAX_SECONDS >= CELERY_BROKER_VISIBILITY_TIMEOUT / 2:
    raise ImproperlyConfigured(
        "CELERY_VISIBILITY_TIMEOUT must be more than twice CELERY_TASK_TIME_LIMIT + "
        "DIAL_RETRY_MAX_SECONDS, or Redis delivers slow and delayed tasks twice"
    )

# --- Twilio ---------------------------------------------------------------------------
# With no account configured the app talks to the bundled sandbox (make run starts it).
# These two values must equal twilio_sandbox.DEFAULT_ACCOUNT_SID/_AUTH_TOKEN; a test
# checks it. They are not secrets: they open only the local sandbox.
SANDBOX_ACCOUNT_SID = "AC00000000000000000000000000000001"
SANDBOX_AUTH_TOKEN = "5a4db0c5a4db0c5a4db0c5a4db0c5a4d"  # noqa: S105
TWILIO_USES_SANDBOX = not os.environ.get("TWILIO_ACCOUNT_SID", "").strip()
TWILIO_ACCOUNT_SID = env_sid("TWILIO_ACCOUNT_SID", SANDBOX_ACCOUNT_SID, "AC")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "") or (
    SANDBOX_AUTH_TOKEN if TWILIO_USES_SANDBOX else ""
)
TWILIO_PREVIOUS_AUTH_TOKEN = env_str("TWILIO_PREVIOUS_AUTH_TOKEN", "")
TWILIO_API_KEY_SID = env_sid("TWILIO_API_KEY_SID", "", "SK")
TWILIO_API_KEY_SECRET = env_str("TWILIO_API_KEY_SECRET", "")
TWILIO_API_BASE_URL = env_url(
    "TWILIO_API_BASE_URL", "http://127.0.0.1:8010" if TWILIO_USES_SANDBOX else ""
)
TWILIO_CALLER_IDS = env_list("TWILIO_CALLER_IDS", ["+15005550006"] if TWILIO_USES_SANDBOX else [])
TWILIO_CPS = env_float("TWILIO_CPS", 1.0, minimum=0.01)
TWILIO_HTTP_TIMEOUT_SECONDS = env_float("TWILIO_HTTP_TIMEOUT_SECONDS", 15.0, minimum=0.1)
if not TWILIO_AUTH_TOKEN and not (TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET):
    raise ImproperlyConfigured(
        "TWILIO_AUTH_TOKEN (or TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET) must be set "
        "when TWILIO_ACCOUNT_SID is"
    )
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "US").upper()
# Music for participants put on hold from the live page ("": Twilio's own); a conference
# can choose its own.
HOLD_MUSIC_URL = env_url("HOLD_MUSIC_URL", "")
# Key for secrets kept until a call is placed (SIP passwords, account tokens in the
# database); separate from SECRET_KEY so rotating one does not expose the other.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY", "")
WEBHOOK_TRUST_FORWARDED_HEADERS = env_bool("WEBHOOK_TRUST_FORWARDED_HEADERS", False)
# The public addresses forwarded headers may name ("host" or "host:port"); empty: the hosts
# of ALLOWED_HOSTS at the scheme's default port or PUBLIC_BASE_URL's. Anything else is
# ignored (a relayed request replayed with its relay host must not verify).
WEBHOOK_FORWARDED_HOSTS = env_list("WEBHOOK_FORWARDED_HOSTS", [])
# Operators' own callback URLs get our callbacks relayed: only to allow-listed hosts, never
# to private addresses (RELAY_ALLOW_PRIVATE_ADDRESSES is for tests and closed networks).
RELAY_ALLOW_PRIVATE_ADDRESSES = env_bool("RELAY_ALLOW_PRIVATE_ADDRESSES", False)
RELAY_MAX_ATTEMPTS = env_int("RELAY_MAX_ATTEMPTS", 6, minimum=1)
RELAY_TIMEOUT_SECONDS = env_float("RELAY_TIMEOUT_SECONDS", 5.0, minimum=0.5)
RELAY_RETRY_BASE_SECONDS = env_float("RELAY_RETRY_BASE_SECONDS", 2.0, minimum=0.0)
RELAY_RETRY_MAX_SECONDS = env_float("RELAY_RETRY_MAX_SECONDS", 60.0, minimum=0.0)
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
# Requests per minute one API token may make to /api/v1/ before answers are 429s.
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 120, minimum=1)
# Hours an Idempotency-Key answers with the dial it made; after that it is forgotten (an
# hourly task deletes it) and the same key makes a new dial.
API_IDEMPOTENCY_KEY_HOURS = env_int("API_IDEMPOTENCY_KEY_HOURS", 24, minimum=1)

# --- Authentication and sessions ------------------------------------------------------
AUTH_USER_MODEL = "conferences.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "conferences:dial"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    # django-axes first, so a locked-out user is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15, minimum=1))
# Failed tries count per username and address; an address that failed this often over any
# usernames (password spraying) is refused too, for the same cool-off time.
LOGIN_ADDRESS_FAILURE_LIMIT = env_int(
    "LOGIN_ADDRESS_FAILURE_LIMIT", 4 * AXES_FAILURE_LIMIT, minimum=AXES_FAILURE_LIMIT
)
AXES_LOCKOUT_PARAMETERS = "conferences.accounts.sign_in.lockout_parameters"
# The reverse proxies (addresses or CIDR networks) whose X-Forwarded-For names the client:
# without this every sign-in behind the proxy comes from one address; with it, that header
# is believed only on requests that come from one of them.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
AXES_CLIENT_IP_CALLABLE = "conferences.accounts.sign_in.client_address"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
SESSION_COOKIE_AGE = env_int("SESSION_HOURS", 8, minimum=1) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- Security headers -----------------------------------------------------------------
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# TLS redirect and HSTS belong to the reverse proxy in front of gunicorn; they can be
# turned on here when there is none.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names need collectstatic; tests and runserver serve the source files.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or TESTING)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Logging --------------------------------------------------------------------------
LOG_FORMAT = env_choice("LOG_FORMAT", "text", ("text", "json"))
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
# Celery's line per routine task (beat's "sending due task", the worker's "received" and
# "succeeded"): INFO to see them again.
ROUTINE_CELERY_LOG_LEVEL = env_choice(
    "ROUTINE_CELERY_LOG_LEVEL", "WARNING", ("DEBUG", "INFO", "WARNING", "ERROR")
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "dashboard.observability.RequestIdFilter"},
        "redact": {"()": "dashboard.observability.RedactSecretsFilter"},
    },
    "formatters": {
        "text": {
            "()": "dashboard.observability.TextLinesFormatter",
            "fmt": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
        },
        "json": {"()": "dashboard.observability.JsonLinesFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "twilio": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Idle, beat sends a sweep every few seconds and the worker logs each task received
        # and succeeded: ~160 lines a minute that scroll `make run`'s demo passwords away.
        # Failures still log (ERROR); the app's own loggers say what a dial did.
        "celery.beat": {"level": ROUTINE_CELERY_LOG_LEVEL},
        "celery.app.trace": {"level": ROUTINE_CELERY_LOG_LEVEL},
        "celery.worker.strategy": {"level": ROUTINE_CELERY_LOG_LEVEL},
    },
}

# --- Operations: reconciliation, retention, metrics (issue 12) ------------------------
# A live dial (or an open conference) that heard nothing for this long is checked against
# Twilio's API by the reconcile sweep, which runs every RECONCILE_INTERVAL_SECONDS.
RECONCILE_AFTER_SECONDS = env_int("RECONCILE_AFTER_SECONDS", 600, minimum=10)
RECONCILE_INTERVAL_SECONDS = env_float("RECONCILE_INTERVAL_SECONDS", 10.0, minimum=5.0)
# Issue 19: besides silence, each state's own deadline (conferences/operations/expectations.py):
# queued/initiated with no progress; ringing past its Timeout + 5 s + margin; calls in a
# conference checked by one participant list per conference this often; a leave without the
# call's end (or the reverse); a conference whose last participant left without its end.
RECONCILE_DIALING_AFTER_SECONDS = env_float("RECONCILE_DIALING_AFTER_SECONDS", 30.0, minimum=1.0)
RECONCILE_RINGING_MARGIN_SECONDS = env_float("RECONCILE_RINGING_MARGIN_SECONDS", 15.0, minimum=0.0)
RECONCILE_LIVE_EVERY_SECONDS = env_float("RECONCILE_LIVE_EVERY_SECONDS", 60.0, minimum=1.0)
RECONCILE_LEAVE_AFTER_SECONDS = env_float("RECONCILE_LEAVE_AFTER_SECONDS", 20.0, minimum=1.0)
RECONCILE_CONFERENCE_END_AFTER_SECONDS = env_float(
    "RECONCILE_CONFERENCE_END_AFTER_SECONDS", 30.0, minimum=1.0
)
# Personal data (numbers, labels, names, recording URLs) older than this many days is
# purged daily, recordings deleted at Twilio too; 0 keeps everything forever.
RETENTION_DAYS = env_int("RETENTION_DAYS", 0, minimum=0)
# Bearer token Prometheus sends to /metrics; unset, /metrics answers 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# How long the webhook self-test waits for its own request to come back through the proxy.
WEBHOOK_SELF_TEST_TIMEOUT_SECONDS = env_float("WEBHOOK_SELF_TEST_TIMEOUT_SECONDS", 5.0, minimum=0.5)
# Issue 21: how often the beat looks for scheduled conferences to dial out, and how long a
# dial-out holds its event before another worker may take over where it stopped.
EVENTS_DUE_POLL_SECONDS = env_float("EVENTS_DUE_POLL_SECONDS", 5.0, minimum=0.5)
EVENTS_DIAL_OUT_LEASE_SECONDS = env_float("EVENTS_DIAL_OUT_LEASE_SECONDS", 60.0, minimum=1.0)
# A scheduled conference still not dialed this long after its start is marked missed.
EVENTS_MISSED_AFTER_SECONDS = env_float("EVENTS_MISSED_AFTER_SECONDS", 1800.0, minimum=60.0)
CELERY_BEAT_SCHEDULE |= {
    # Removes machine-answered callers and redials dropped invitees (live conferences).
    "live-sweep": {
        "task": "conferences.live_tasks.sweep_live_conferences",
        "schedule": 2.0,
        "options": {"expires": 2.0},
    },
    # Dials out the scheduled conferences whose time has come (what is due is read from
    # the database each time, so a restart of any process loses nothing).
    "dial-due-events": {
        "task": "conferences.events_tasks.dial_due_events",
        "schedule": EVENTS_DUE_POLL_SECONDS,
        "options": {"expires": EVENTS_DUE_POLL_SECONDS},
    },
    "reconcile-stale": {
        "task": "conferences.ops_tasks.reconcile_stale",
        "schedule": RECONCILE_INTERVAL_SECONDS,
        "options": {"expires": RECONCILE_INTERVAL_SECONDS},
    },
    "purge-personal-data": {
        "task": "conferences.ops_tasks.purge_personal_data",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 3600},
    },
    "forget-expired-idempotency-keys": {
        "task": "conferences.api_tasks.forget_expired_idempotency_keys",
        "schedule": crontab(minute=17),
        "options": {"expires": 3600},
    },
}
