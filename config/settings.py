"""Parley settings.

Two profiles from one file, chosen by ``PARLEY_PROFILE``:

``production`` (the default when unset)
    ``DEBUG`` is off and cannot be switched on; ``SECRET_KEY``,
    ``ALLOWED_HOSTS``, ``DATABASE_URL`` and ``REDIS_URL`` are required and
    nothing falls back to a local substitute; HTTPS hardening is on.
``embedded``
    Runs with nothing installed but Python: SQLite under ``var/``, an
    in-memory channel layer, eager Celery, media on the filesystem and
    console email, ``DEBUG`` on by default and an insecure development
    secret. Setting ``DATABASE_URL``, ``REDIS_URL``, ``EMAIL_URL`` or
    ``AWS_STORAGE_BUCKET_NAME`` still switches that part to the real service
    (the test suite runs this profile against PostgreSQL and Redis).

The profile is never inferred from which variables happen to be set, so a
deployment that forgets one gets an error, not a development server.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PARLEY_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

PROFILES = ("production", "embedded")
# An empty value counts as unset (``PARLEY_PROFILE=`` in an env file), which
# selects the safe default.
PARLEY_PROFILE = env.str("PARLEY_PROFILE", default="").strip() or "production"
if PARLEY_PROFILE not in PROFILES:
    raise ImproperlyConfigured(
        f"PARLEY_PROFILE must be 'production' (the default) or 'embedded', not {PARLEY_PROFILE!r}."
    )
EMBEDDED = PARLEY_PROFILE == "embedded"

# Variables the production profile cannot run without. REDIS_URL is among
# them: without it the channel layer, presence and rate limits would live in
# one process's memory and Celery would run tasks inside the web process, so a
# second web process would silently miss every event of the first.
PRODUCTION_REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL")

if EMBEDDED:
    DEBUG = env.bool("DEBUG", default=True)
    SECRET_KEY = env.str("SECRET_KEY", default="parley-embedded-insecure-key-do-not-deploy")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
else:
    if env.bool("DEBUG", default=False):
        raise ImproperlyConfigured(
            "DEBUG is for the embedded profile (PARLEY_PROFILE=embedded); "
            "the production profile always runs with DEBUG off."
        )
    DEBUG = False
    _missing = [name for name in PRODUCTION_REQUIRED if not env.str(name, default="").strip()]
    if _missing:
        raise ImproperlyConfigured(
            f"The production profile (the default) is missing {', '.join(_missing)}; "
            f"it needs {', '.join(PRODUCTION_REQUIRED)}. To run on this machine "
            "without them, set PARLEY_PROFILE=embedded (make run does)."
        )
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = [host for host in env.list("ALLOWED_HOSTS") if host]
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must list at least one host name.")
    if "*" in ALLOWED_HOSTS:
        # AllowedHostsOriginValidator trusts ALLOWED_HOSTS: "*" would switch
        # the WebSocket origin check off.
        raise ImproperlyConfigured("ALLOWED_HOSTS must list real host names, not '*'.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    # Login lockout; before accounts, whose admin trims axes' pages.
    "axes",
    # Before django.contrib.auth: its changepassword command replaces
    # Django's (through accounts.services.change_password).
    "accounts",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Periodic tasks kept in the database, editable in the admin.
    "django_celery_beat",
    "messaging",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (Accept-Language) until a person chooses one;
    # accounts.locale then applies their own language and time zone.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Signed-in responses are not stored by the browser (config.middleware).
    "config.middleware.PrivateResponsesMiddleware",
    "accounts.locale.PersonLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# A database fault must never hang a request or a socket (DESIGN.md): every
# connection attempt, pool checkout and statement has a bound, and the
# caller answers the retryable ``unavailable`` error (docs/protocol.md,
# docs/api.md) when one runs out.
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=3)  # seconds
DATABASE_POOL_TIMEOUT = env.float("DATABASE_POOL_TIMEOUT", default=3.0)  # seconds
# 0 switches the statement timeout (and the client-side deadline) off, for
# ``migrate`` on large tables.
DATABASE_STATEMENT_TIMEOUT_MS = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=5000)

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
    # Long-lived ASGI consumers must not hold stale connections (DESIGN.md);
    # psycopg's pool makes the short-lived ones cheap.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    _db_options = DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "connect_timeout": DATABASE_CONNECT_TIMEOUT,
        # A peer that vanishes (packets dropped) is noticed by the kernel
        # within a few seconds instead of TCP's quarter of an hour.
        "keepalives": 1,
        "keepalives_idle": max(1, DATABASE_CONNECT_TIMEOUT),
        "keepalives_interval": 1,
        "keepalives_count": 3,
        "tcp_user_timeout": max(1, DATABASE_CONNECT_TIMEOUT) * 1000,
    }
    # Django turns psycopg's prepared statements off for every connection.
    # Only ``config.prepared``'s server-binding cursor (a send's statement)
    # asks for them; Django's own cursors bind on the client and never
    # prepare. Off for a pooler that cannot keep them (PgBouncer in
    # transaction mode before 1.21, or without max_prepared_statements).
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        _db_options["prepare_threshold"] = 5  # psycopg's own default
    if DATABASE_STATEMENT_TIMEOUT_MS:
        _db_options["options"] = (
            _db_options.get("options", "")
            + f" -c statement_timeout={DATABASE_STATEMENT_TIMEOUT_MS}"
        ).strip()
    if env.bool("DATABASE_POOL", default=True):
        _db_options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN", default=1),
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            # How long a caller waits for a connection when none is free or
            # the database cannot be reached.
            "timeout": DATABASE_POOL_TIMEOUT,
            # The pool's reconnection attempts back off, doubling; giving up
            # after a few seconds lets the next request start a fresh attempt
            # at once, so recovery after an outage stays quick.
            "reconnect_timeout": max(5.0, 2.0 * DATABASE_CONNECT_TIMEOUT),
        }
    DATABASES["default"].setdefault("TEST", {})
    if env.str("TEST_DATABASE_NAME", default=""):
        DATABASES["default"]["TEST"]["NAME"] = env.str("TEST_DATABASE_NAME")
else:
    # Only the embedded profile gets here: production requires DATABASE_URL.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "parley.sqlite3",
            # IMMEDIATE takes the write lock at BEGIN, so concurrent sends
            # queue instead of failing with "database is locked".
            # The embedded Celery worker (and its beat) write the same file as
            # the web server: WAL lets readers go on while one writes, and the
            # timeout makes a writer wait for the lock instead of failing.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis: channel layer, cache, Celery broker -----------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Namespaces Parley's own Redis keys (presence, rate limits) and channel layer.
REDIS_KEY_PREFIX = env.str("CHANNEL_LAYER_PREFIX", default="parley")
# Every Redis call is bounded: Redis holds only what may be lost, so a slow or
# absent Redis degrades live delivery (docs/protocol.md, ``degraded``) and
# never holds up a send, which needs only PostgreSQL.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=2.0)  # seconds
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=2.0)  # seconds
# Connections per process to REDIS_URL for presence and rate limits; a call
# past them waits for one, at most REDIS_SOCKET_TIMEOUT.
REDIS_MAX_CONNECTIONS = env.int("REDIS_MAX_CONNECTIONS", default=100)
# The Redis servers of the channel layer, comma-separated: channels-redis
# puts each channel and group on one of them by a hash of its name, so live
# events spread over them (docs/operations.md, "Growing from one machine to
# many"). Every process must list the same servers in the same order.
# Presence, rate limits, the cache and the broker stay on REDIS_URL.
CHANNEL_LAYER_REDIS_URLS = [
    url.strip()
    for url in (env.str("CHANNEL_LAYER_REDIS_URLS", default="") or REDIS_URL).split(",")
    if url.strip()
]
if CHANNEL_LAYER_REDIS_URLS and not REDIS_URL:
    raise ImproperlyConfigured(
        "CHANNEL_LAYER_REDIS_URLS needs REDIS_URL (presence, rate limits, the cache "
        "and the broker): set both, or neither for the in-memory layer."
    )

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis's pub/sub layer (one PUBLISH per group send and no
            # per-channel capacity to overflow: the default layer drops
            # messages under load, DESIGN.md), made to ride out an outage:
            # sockets open and join their groups while Redis is away.
            "BACKEND": "messaging.realtime.layer.ResilientPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": url,
                        "socket_timeout": REDIS_SOCKET_TIMEOUT,
                        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                    }
                    for url in CHANNEL_LAYER_REDIS_URLS
                ],
                "prefix": REDIS_KEY_PREFIX,
            },
        }
    }
    CACHES = {
        "default": {
            # Django's RedisCache, its client shared by the whole process
            # rather than one per request or socket (config.cache).
            "BACKEND": "config.cache.ProcessRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="parley"),
            "OPTIONS": {
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
            },
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": REDIS_SOCKET_TIMEOUT,
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
        # A task taken by a worker that died (never acknowledged: acks_late)
        # goes back to the queue after this long. Longer than any countdown
        # we use (the missed-message delay), or a waiting task would be
        # handed out twice (harmless: deliveries are recorded, but wasteful).
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        # How often a worker looks for such tasks. kombu's default scans on
        # every tenth 10 s tick, so a task came back up to 100 s after its
        # timeout ran out; one scan every interval is a cheap sorted-set read.
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_SECONDS", default=10),
        "unacked_restore_throttle": 1,
    }
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {
                # One channel (the hub's, messaging.realtime.hub) now takes
                # every event of the process: past its capacity (100 by
                # default) the in-memory layer drops, so a burst of a few
                # hundred events must fit. It is a bound, not an allocation.
                "capacity": 100_000,
                # The hub holds its subscriptions as long as any socket needs
                # them, often longer than the default day after which the
                # in-memory layer forgets a group member; it always leaves.
                "group_expiry": 10 * 365 * 24 * 3600,
            },
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # A broker that needs no server: kombu's filesystem transport, a folder
    # of message files under var/celery/ shared by the web server and the
    # worker that `make run` starts (manage.py runembedded, which switches
    # eager mode off). Anything else in this profile (tests, manage.py
    # commands) runs tasks eagerly, in-process, as before.
    CELERY_BROKER_URL = "filesystem://localhost/"
    # kombu's, with message files written whole before the worker sees them.
    CELERY_BROKER_TRANSPORT = "config.filesystem_broker:Transport"
    _celery_dir = VAR_DIR / "celery"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_celery_dir / "control"),
    }
    for _folder in ("queue", "processed", "control"):
        (_celery_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)

# How long a process's hub holds a conversation's early ``message.new``
# (one whose predecessor has not arrived) before it reads the missing ones
# from PostgreSQL (messaging.realtime.ordering). Sends commit in seq order
# but publish from different processes, so the predecessor is normally a
# few milliseconds behind, more when a process is busy; 150 ms lets nearly
# every gap close by itself and bounds what a lost event adds to the ones
# behind it (docs/operations.md, "Delivery and recovery").
PARLEY_LIVE_ORDER_HOLD_MS = env.int("PARLEY_LIVE_ORDER_HOLD_MS", default=150)
if PARLEY_LIVE_ORDER_HOLD_MS < 0:
    raise ImproperlyConfigured("PARLEY_LIVE_ORDER_HOLD_MS is a number of milliseconds, 0 or more.")

# Tasks that publish live frames (the notification fan-out) run in the web
# process when the channel layer is in-memory: a worker process could not
# reach that process's sockets (messaging.events.enqueue_on_commit). They
# queue their slow parts (push, email) for the worker as usual.
PARLEY_LIVE_TASKS_IN_PROCESS = env.bool("PARLEY_LIVE_TASKS_IN_PROCESS", default=not REDIS_URL)

# How long a web process gathers sends before handing their conversations to
# the notification fan-out in one task (notifications.services.fanout_cursor):
# a few hand-offs a second per process instead of one per send; a
# notification waits at most this much longer for its worker.
PARLEY_FANOUT_NUDGE_SECONDS = env.float("PARLEY_FANOUT_NUDGE_SECONDS", default=0.2)
if not 0 < PARLEY_FANOUT_NUDGE_SECONDS <= 10:
    raise ImproperlyConfigured(
        "PARLEY_FANOUT_NUDGE_SECONDS is a number of seconds, over 0, at most 10."
    )

# Back-pressure (messaging.realtime.outbox): how many bytes of live frames a
# socket may have queued, unwritten, before it is closed with 4008 (too far
# behind: reconnect and resume). 1 MiB is minutes of a busy room for a tab
# that reads (a frame is ~0.5 KB: a backlog of ~2,000 frames), so only a
# socket that has stopped reading reaches it, and a thousand stalled tabs
# cost at most 1 GiB rather than without bound.
PARLEY_SOCKET_SEND_BUFFER_BYTES = env.int("PARLEY_SOCKET_SEND_BUFFER_BYTES", default=1024 * 1024)

CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# With acks_late, a task whose worker process died goes back to the queue:
# every task is safe to run twice (delivery records), so redelivery is right.
CELERY_TASK_REJECT_ON_WORKER_LOST = env.bool("CELERY_TASK_REJECT_ON_WORKER_LOST", default=True)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Schedules live in the database (django-celery-beat), editable in the admin;
# `manage.py setup_periodic_tasks` (release, make run) creates Parley's own
# (notifications.services.schedules). Nothing comes from the settings: the
# scheduler would copy such entries into the tables each time beat starts,
# over any admin edit of them.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {}

# --- Files ----------------------------------------------------------------
MEDIA_URL = "/media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
STATIC_URL = "/static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]

if env.str("AWS_STORAGE_BUCKET_NAME", default=""):
    from botocore.config import Config as _BotoConfig

    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "default_acl": None,
            # A private bucket: every fetch is a short-lived signed URL
            # handed out after Parley's own access check (messaging.files).
            "querystring_auth": True,
            "file_overwrite": False,
            # Every S3 call is bounded: a stalled store must not hold a request.
            "client_config": _BotoConfig(
                connect_timeout=env.float("AWS_S3_CONNECT_TIMEOUT", default=5.0),
                read_timeout=env.float("AWS_S3_READ_TIMEOUT", default=30.0),
                retries={"max_attempts": 2, "mode": "standard"},
                signature_version="s3v4",
            ),
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}

STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if EMBEDDED
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Email ----------------------------------------------------------------
# EMAIL_URL: smtp://user:password@host:25, smtp+tls://…:587 (STARTTLS) or
# smtps://…:465 (TLS from the start; smtp+ssl:// too), read by
# django-environ's email_url. Without it email goes to the console (the
# embedded profile's default).
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
    if env.str("EMAIL_URL").lower().startswith("smtps:"):
        # smtps:// is TLS from the first byte (port 465, RFC 8314), as mail
        # software means it; django-environ would read it as STARTTLS.
        EMAIL_USE_TLS, EMAIL_USE_SSL = False, True
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Every SMTP call (connect, each command, the message) is bounded: a mail
# server that stops answering must not hold a worker for ever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # seconds
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Parley <parley@localhost>")
# Absolute links in emails (open the conversation, unsubscribe) start here.
PARLEY_SITE_URL = env.str(
    "PARLEY_SITE_URL", default="http://127.0.0.1:8000" if EMBEDDED else ""
).rstrip("/")
if not EMBEDDED and not PARLEY_SITE_URL:
    PARLEY_SITE_URL = f"https://{ALLOWED_HOSTS[0].lstrip('.')}"
# How long a message may stay unread before its recipient gets an email.
PARLEY_MISSED_EMAIL_DELAY_SECONDS = env.int("PARLEY_MISSED_EMAIL_DELAY_SECONDS", default=120)

# --- Web Push (notifications/vapid.py, notifications/services/push.py) -----
# Production takes its VAPID key pair from the environment: the private key as
# PEM or as the base64url raw 32 bytes (``vapid --gen`` and most guides give
# one or the other); the public key, when given, must match it. Without a
# private key push is off (the API says so). The embedded profile makes its
# own key pair on first use and keeps it in VAPID_KEY_FILE (mode 0600).
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="")
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="")
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="mailto:parley@localhost" if EMBEDDED else "")
VAPID_KEY_FILE = env.str("VAPID_KEY_FILE", default=str(VAR_DIR / "vapid.pem") if EMBEDDED else "")
PUSH = {
    # How long a push service keeps a message for a device that is offline.
    "TTL_SECONDS": env.int("PUSH_TTL_SECONDS", default=24 * 60 * 60),
    # Every request to a push service is bounded (DESIGN.md: every call has a timeout).
    "TIMEOUT_SECONDS": env.float("PUSH_TIMEOUT_SECONDS", default=5.0),
    # Sends of one notification to one device, the first included, on 429 / 5xx / no answer.
    "MAX_ATTEMPTS": env.int("PUSH_MAX_ATTEMPTS", default=4),
    # A Retry-After longer than this ends the delivery as failed rather than
    # holding a worker; backoff without Retry-After starts at one second and doubles.
    "MAX_RETRY_DELAY_SECONDS": env.float("PUSH_MAX_RETRY_DELAY_SECONDS", default=30.0),
    # Notifications per deliver_push task.
    "TASK_CHUNK": env.int("PUSH_TASK_CHUNK", default=100),
    # What one task may spend on devices that do not take a push: its
    # retry waits and the timeouts of unanswered sends, in all. Past it a
    # failing send is not retried.
    "TASK_RETRY_SECONDS": env.float("PUSH_TASK_RETRY_SECONDS", default=60.0),
    # A device whose sends ran out of retries is not sent to for this long.
    "REST_SECONDS": env.int("PUSH_REST_SECONDS", default=600),
    # Push services may be plain http on the loopback interface only in
    # DEBUG (tests run their own); production needs https to a public host.
    "ALLOW_LOOPBACK_HTTP": DEBUG,
}

# --- Internationalization --------------------------------------------------
# Every user-facing string goes through the translation framework
# (docs/accessibility.md, "Adding a language"); the catalogs are in locale/,
# compiled .mo files committed beside their .po so a checkout needs no gettext.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security ---------------------------------------------------------------
# Database sessions that also say whose they are (accounts.sessions): a
# password change ends a person's sessions by an indexed column. Expired
# rows go daily (the "accounts: clear expired sessions" periodic task).
SESSION_ENGINE = "accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the browser client reads it for API writes
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not EMBEDDED:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# --- Authentication: trusted proxies and login lockout ----------------------
# How many reverse proxies stand in front of Parley, each appending the
# address it received from to X-Forwarded-For: the one switch for forwarded
# headers (config/proxies.py). 0, the default, trusts none of them, so a
# client cannot pick its own address for the lockout and the throttles.
PARLEY_TRUSTED_PROXIES = env.int("PARLEY_TRUSTED_PROXIES", default=0)
if PARLEY_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("PARLEY_TRUSTED_PROXIES is a number of proxies, 0 or more.")
if PARLEY_TRUSTED_PROXIES:
    # Only a trusted proxy may say the client came over HTTPS (the HTTPS
    # redirect, CSRF and the WebSocket origin check read it).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

AUTHENTICATION_BACKENDS = [
    # Refuses every password check while the account or address is locked.
    "accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# django-axes (accounts/lockout.py): failures count per account and per
# address over a sliding window of AXES_COOLOFF_TIME; reaching either limit
# locks for that long after the failure that set it.
AXES_ENABLED = True
AXES_HANDLER = "accounts.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # in this order (LockoutHandler)
AXES_FAILURE_LIMIT = env.int("PARLEY_LOGIN_FAILURE_LIMIT", default=5)  # per account
PARLEY_LOGIN_ADDRESS_FAILURE_LIMIT = env.int("PARLEY_LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("PARLEY_LOGIN_LOCKOUT_MINUTES", default=15))
# Attempts refused while locked neither count nor extend the lock: a class
# behind one address is not kept out by one person retrying.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success does not wipe the failures: an attacker's own valid account must
# not reset their address's count.
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "config.proxies.client_network"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "messaging.api.errors.exception_handler",
    # Throttles identify clients as the lockout does (config/proxies.py).
    "NUM_PROXIES": PARLEY_TRUSTED_PROXIES,
}
# /api/schema/ and /api/docs/ answer anonymous requests only when this is on.
PARLEY_PUBLIC_API_SCHEMA = env.bool("PARLEY_PUBLIC_API_SCHEMA", default=False)
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": "Conversations, history, sending and receipts over HTTP.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page loads nothing from outside the server (the CSP forbids it).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # One enum per choice set, named, where several fields share it.
    "ENUM_NAME_OVERRIDES": {
        "SupportStatusEnum": "messaging.support.models.SupportStatus",
        "SupportPriorityEnum": "messaging.support.models.SupportPriority",
        "BotKindEnum": "messaging.integrations.models.BotKind",
        "DeviceKindEnum": "messaging.e2e.models.DeviceKind",
        "DeviceStatusEnum": "messaging.e2e.models.DeviceStatus",
    },
}

# --- Parley limits ---------------------------------------------------------
PARLEY = {
    "MAX_CONTENT_CHARS": env.int("PARLEY_MAX_CONTENT_CHARS", default=10_000),
    "MAX_TITLE_CHARS": 200,
    "MAX_GROUP_MEMBERS": env.int("PARLEY_MAX_GROUP_MEMBERS", default=500),
    "MAX_FRAME_BYTES": env.int("PARLEY_MAX_FRAME_BYTES", default=64 * 1024),
    "MAX_SOCKETS_PER_USER": env.int("PARLEY_MAX_SOCKETS_PER_USER", default=10),
    "SEND_RATE_PER_SECOND": env.float("PARLEY_SEND_RATE_PER_SECOND", default=5.0),
    "SEND_BURST": env.int("PARLEY_SEND_BURST", default=20),
    "HISTORY_PAGE_SIZE": 50,
    "HISTORY_MAX_PAGE_SIZE": 200,
    "RESUME_PAGE_SIZE": 200,
    "TYPING_TTL_SECONDS": 6,
    "TYPING_MIN_INTERVAL_SECONDS": 2,
    # Typing frames one socket may send: a burst, then so many a second.
    "TYPING_FRAME_BURST": 10,
    "TYPING_FRAMES_PER_SECOND": 2.0,
    # Presence changes one socket's presence.set has told the person's
    # contacts: a burst, then so many a second; past it the status the person
    # then has is told once (messaging.realtime.presence_pace).
    "PRESENCE_ANNOUNCE_BURST": 4,
    "PRESENCE_ANNOUNCES_PER_SECOND": 0.2,
    # Frames of any kind one socket is answered: a burst, then so many a
    # second; beyond it its next frame waits its turn and the server reads
    # nothing more from the socket meanwhile (messaging.realtime.consumers).
    "SOCKET_FRAME_BURST": env.int("PARLEY_SOCKET_FRAME_BURST", default=100),
    "SOCKET_FRAMES_PER_SECOND": env.float("PARLEY_SOCKET_FRAMES_PER_SECOND", default=30.0),
    # Read and delivered frames one socket may send: a burst, then so many a
    # second; beyond it the latest seq per conversation is held and applied
    # as the budget refills (messaging.realtime.receipts).
    "RECEIPT_FRAME_BURST": env.int("PARLEY_RECEIPT_FRAME_BURST", default=20),
    "RECEIPT_FRAMES_PER_SECOND": env.float("PARLEY_RECEIPT_FRAMES_PER_SECOND", default=5.0),
    # Repeats of one refusal within this window are one audit row with a count.
    "AUDIT_DENIAL_WINDOW_SECONDS": env.int("PARLEY_AUDIT_DENIAL_WINDOW_SECONDS", default=60),
    # Fetches of one file by one person within this window are one
    # file.download row with a count.
    "AUDIT_DOWNLOAD_WINDOW_SECONDS": env.int("PARLEY_AUDIT_DOWNLOAD_WINDOW_SECONDS", default=600),
    "PRESENCE_TTL_SECONDS": env.int("PARLEY_PRESENCE_TTL_SECONDS", default=90),
    "PRESENCE_HEARTBEAT_SECONDS": env.int("PARLEY_PRESENCE_HEARTBEAT_SECONDS", default=30),
    "LAST_SEEN_WRITE_INTERVAL_SECONDS": 60,
    # Files (messaging.files): limits on what is stored, and for how long.
    # How long a signed storage URL (S3) stays valid once handed out.
    "FILE_URL_EXPIRY_SECONDS": env.int("PARLEY_FILE_URL_EXPIRY_SECONDS", default=60),
    "MAX_UPLOAD_BYTES": env.int("PARLEY_MAX_UPLOAD_BYTES", default=25 * 1024 * 1024),
    "MAX_ATTACHMENTS_PER_MESSAGE": env.int("PARLEY_MAX_ATTACHMENTS_PER_MESSAGE", default=10),
    # What one person may upload in any 24 hours.
    "DAILY_UPLOAD_BYTES": env.int("PARLEY_DAILY_UPLOAD_BYTES", default=500 * 1024 * 1024),
    "DAILY_UPLOAD_COUNT": env.int("PARLEY_DAILY_UPLOAD_COUNT", default=500),
    # Larger images are refused unopened (decompression bombs).
    "MAX_IMAGE_PIXELS": env.int("PARLEY_MAX_IMAGE_PIXELS", default=50_000_000),
    "THUMBNAIL_MAX_PIXELS": 480,  # longest side
    "PREVIEW_MAX_PAGES": env.int("PARLEY_PREVIEW_MAX_PAGES", default=3),
    "PREVIEW_PAGE_WIDTH": 900,
    # LibreOffice and page rendering together, per file.
    "PREVIEW_TIMEOUT_SECONDS": env.int("PARLEY_PREVIEW_TIMEOUT_SECONDS", default=60),
    "EXTRACTED_TEXT_MAX_CHARS": 200_000,
    "EXCERPT_MAX_CHARS": 2_000,
    # Uploads never sent, and files of deleted messages, are purged after these.
    "UNSENT_UPLOAD_HOURS": env.int("PARLEY_UNSENT_UPLOAD_HOURS", default=24),
    "DELETED_FILE_RETENTION_DAYS": env.int("PARLEY_DELETED_FILE_RETENTION_DAYS", default=30),
    # Search (messaging.search). The text search configuration (PostgreSQL's
    # regconfig, e.g. "english", "simple", "german"); changing it needs
    # `manage.py rebuild_search_index`. SQLite's FTS5 stems English (porter).
    "SEARCH_CONFIG": env.str("PARLEY_SEARCH_CONFIG", default="english"),
    "SEARCH_PAGE_SIZE": 20,
    "SEARCH_MAX_PAGE_SIZE": 50,
    "SEARCH_MAX_QUERY_CHARS": 500,
    # Support requests (messaging.support): a request is overdue when it has
    # waited longer than these for its first response, or for its resolution.
    "SUPPORT_FIRST_RESPONSE_HOURS": env.int("PARLEY_SUPPORT_FIRST_RESPONSE_HOURS", default=24),
    "SUPPORT_RESOLUTION_HOURS": env.int("PARLEY_SUPPORT_RESOLUTION_HOURS", default=72),
    # Each request is a conversation with every admin in it: one person's
    # waiting requests are bounded, so nobody can bury the admins' inbox.
    "SUPPORT_MAX_OPEN_PER_PERSON": env.int("PARLEY_SUPPORT_MAX_OPEN_PER_PERSON", default=10),
    # Each bot (an incoming webhook's included) is an account with its own
    # send budget and sockets: a mentor's active bots are bounded.
    "BOTS_MAX_PER_OWNER": env.int("PARLEY_BOTS_MAX_PER_OWNER", default=20),
    "SUPPORT_SUBJECT_MAX_CHARS": 200,
    "SUPPORT_RATING_COMMENT_MAX_CHARS": 2000,
    # Reactions, pins, threads (messaging.threads).
    "MAX_REACTIONS_PER_MESSAGE": 50,  # distinct emoji on one message
    "MAX_REACTIONS_PER_PERSON": 20,  # one person's emoji on one message
    "MAX_PINS_PER_CONVERSATION": 50,
    "THREAD_PAGE_SIZE": 50,
    # Link previews: off unless the deployment turns them on; fetched by a
    # Celery task from public addresses only, within these bounds.
    "LINK_PREVIEWS": env.bool("PARLEY_LINK_PREVIEWS", default=False),
    "LINK_PREVIEW_TIMEOUT_SECONDS": env.float("PARLEY_LINK_PREVIEW_TIMEOUT_SECONDS", default=5.0),
    "LINK_PREVIEW_MAX_BYTES": env.int("PARLEY_LINK_PREVIEW_MAX_BYTES", default=1024 * 1024),
    # Host names, addresses or CIDR ranges fetched although not public (and
    # on any port): an intranet wiki, a test server. Comma-separated.
    "LINK_PREVIEW_ALLOW": env.list("PARLEY_LINK_PREVIEW_ALLOW", default=[]),
}

# The lowest value each limit may take (here and in a role's admin row):
# below them a figure breaks every send (a rate of 0 never refills) or locks
# a role out. A deployment asking for less is refused at start.
PARLEY_LIMIT_MINIMUMS: dict[str, float | int] = {
    "SEND_RATE_PER_SECOND": 0.01,
    "SEND_BURST": 1,
    "MAX_SOCKETS_PER_USER": 1,
    "MAX_GROUP_MEMBERS": 2,
}
for _name, _minimum in PARLEY_LIMIT_MINIMUMS.items():
    if not PARLEY[_name] >= _minimum:  # also refuses NaN
        raise ImproperlyConfigured(
            f"PARLEY_{_name} must be at least {_minimum}; it is {PARLEY[_name]}."
        )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # One handler for Django's loggers too (its default adds a second,
        # which printed every runserver line twice).
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # Lockouts are warnings; every login and attempt would be INFO.
        "axes": {"level": "WARNING"},
    },
}

# Static files are served by WhiteNoise under ASGI; in the embedded profile
# straight from the source folders, so a server process needs no collectstatic.
WHITENOISE_USE_FINDERS = EMBEDDED
WHITENOISE_AUTOREFRESH = EMBEDDED

# Integrations (docs/integrations.md). Each block belongs to one integration.

# Scheduled messages and reminders (messaging.integrations.scheduling).
# A scheduled message's time: at most this many days ahead, and up to this
# many seconds in the past (sent at once: a slow form is not refused).
SCHEDULED_MESSAGES_MAX_DAYS = env.int("PARLEY_SCHEDULED_MESSAGES_MAX_DAYS", default=365)
SCHEDULED_MESSAGES_PAST_SLACK_SECONDS = env.int(
    "PARLEY_SCHEDULED_MESSAGES_PAST_SLACK_SECONDS", default=60
)
# Messages one person may have waiting at once.
SCHEDULED_MESSAGES_MAX_PENDING = env.int("PARLEY_SCHEDULED_MESSAGES_MAX_PENDING", default=100)
# Due messages one sweep sends (each in its own transaction); the next sweep,
# seconds later, takes the rest.
SCHEDULED_MESSAGES_SWEEP_BATCH = env.int("PARLEY_SCHEDULED_MESSAGES_SWEEP_BATCH", default=200)


# The calendar feed (messaging.integrations.calendar), and reminders
# (messaging.integrations.reminders; docs/integrations/reminders-and-calendar.md).
REMINDERS = {
    # How far ahead a reminder may be set.
    "MAX_DAYS_AHEAD": env.int("REMINDERS_MAX_DAYS_AHEAD", default=366),
    # Pending reminders one person may have at once.
    "MAX_PENDING": env.int("REMINDERS_MAX_PENDING", default=500),
    # Reminders one sweep transaction claims and fires at a time.
    "SWEEP_BATCH": env.int("REMINDERS_SWEEP_BATCH", default=100),
}
CALENDAR_FEED = {
    # Meetings that started up to this many days ago stay in the feed.
    "PAST_DAYS": env.int("CALENDAR_FEED_PAST_DAYS", default=30),
    # How often calendar programs are asked to fetch the feed again (minutes).
    "REFRESH_MINUTES": env.int("CALENDAR_FEED_REFRESH_MINUTES", default=15),
}


# Video calls (messaging.integrations.meetings; docs/integrations/video-calls.md).
# PROVIDER: "jitsi", "bigbluebutton" or "link"; empty turns video calls off.
# The embedded profile uses the public Jitsi server without tokens; a
# production deployment chooses its provider (where its people's calls go).
PARLEY_MEETINGS = {
    "PROVIDER": env.str("PARLEY_MEETING_PROVIDER", default="jitsi" if EMBEDDED else ""),
    # How long a call is planned for (its card; Jitsi's token lasts this long past it).
    "DURATION_MINUTES": env.int("PARLEY_MEETING_DURATION_MINUTES", default=60),
    # Jitsi Meet: any server. With APP_ID and SECRET set the server requires
    # tokens, and each join link carries one (HS256, signed with SECRET).
    "JITSI_URL": env.str("PARLEY_JITSI_URL", default="https://meet.jit.si"),
    "JITSI_APP_ID": env.str("PARLEY_JITSI_APP_ID", default=""),
    "JITSI_SECRET": env.str("PARLEY_JITSI_SECRET", default=""),
    # BigBlueButton: the API's URL (ending in /bigbluebutton/api/), its shared
    # secret (`bbb-conf --secret`) and checksum ("sha1", or "sha256" where the
    # server's supportedChecksumAlgorithms allows it).
    "BBB_URL": env.str("PARLEY_BBB_URL", default=""),
    "BBB_SECRET": env.str("PARLEY_BBB_SECRET", default=""),
    "BBB_CHECKSUM": env.str("PARLEY_BBB_CHECKSUM", default="sha1"),
    "BBB_TIMEOUT_SECONDS": env.float("PARLEY_BBB_TIMEOUT_SECONDS", default=5.0),
    # Anything else (Zoom, Teams, a fixed room): a URL with {room} in it.
    "LINK_TEMPLATE": env.str("PARLEY_MEETING_LINK_TEMPLATE", default=""),
}


# Bots, incoming and outgoing webhooks (messaging.integrations.webhooks,
# messaging.integrations.bots; docs/integrations/webhooks-and-bots.md).
# An incoming webhook's body is refused (413) past this many bytes.
PARLEY_INCOMING_WEBHOOK_MAX_BYTES = env.int("PARLEY_INCOMING_WEBHOOK_MAX_BYTES", default=64 * 1024)
# Posts one incoming webhook may make: a burst, then so many a second (429).
PARLEY_INCOMING_WEBHOOK_BURST = env.int("PARLEY_INCOMING_WEBHOOK_BURST", default=10)
PARLEY_INCOMING_WEBHOOK_PER_SECOND = env.float("PARLEY_INCOMING_WEBHOOK_PER_SECOND", default=1.0)
# Host names, addresses or CIDR ranges an outgoing webhook may reach although
# not public (and on any port): a bot on the intranet. Never a cloud
# metadata address. Comma-separated.
PARLEY_OUTGOING_WEBHOOK_ALLOW = env.list("PARLEY_OUTGOING_WEBHOOK_ALLOW", default=[])
# One outgoing call, resolving to the last byte of the answer.
PARLEY_OUTGOING_WEBHOOK_TIMEOUT_SECONDS = env.float(
    "PARLEY_OUTGOING_WEBHOOK_TIMEOUT_SECONDS", default=5.0
)
# Calls per message before it is given up (5xx, timeouts, connection
# errors are tried again; a 4xx is not), the waits doubling from the first.
PARLEY_OUTGOING_WEBHOOK_MAX_ATTEMPTS = env.int("PARLEY_OUTGOING_WEBHOOK_MAX_ATTEMPTS", default=5)
PARLEY_OUTGOING_WEBHOOK_RETRY_SECONDS = env.float(
    "PARLEY_OUTGOING_WEBHOOK_RETRY_SECONDS", default=10.0
)
# The bot's answer in the response body is read up to this many bytes.
PARLEY_OUTGOING_WEBHOOK_MAX_ANSWER_BYTES = env.int(
    "PARLEY_OUTGOING_WEBHOOK_MAX_ANSWER_BYTES", default=64 * 1024
)
# How long a process trusts its list of conversations that have a bot:
# a bot added elsewhere is told of messages at most this much later.
PARLEY_BOT_MEMBERS_CACHE_SECONDS = env.float("PARLEY_BOT_MEMBERS_CACHE_SECONDS", default=5.0)


# End-to-end encrypted conversations (messaging.e2e; docs/e2e.md). Every key
# rotation wraps the key for every device of every member, in a browser: the
# members of one are capped.
E2E_MAX_MEMBERS = env.int("PARLEY_E2E_MAX_MEMBERS", default=50)
if E2E_MAX_MEMBERS < 2:
    raise ImproperlyConfigured(
        f"PARLEY_E2E_MAX_MEMBERS must be at least 2; it is {E2E_MAX_MEMBERS}."
    )
# A key version nothing required (no membership or device change, and the
# poster's device can read the current one) spends from the conversation's
# own bucket: every version is an envelope per device for good, and a new
# device's approval re-wraps them all.
E2E_UNREQUIRED_ROTATION_BURST = env.int("PARLEY_E2E_UNREQUIRED_ROTATION_BURST", default=10)
E2E_UNREQUIRED_ROTATIONS_PER_HOUR = env.float(
    "PARLEY_E2E_UNREQUIRED_ROTATIONS_PER_HOUR", default=6.0
)


# The AI assistant (messaging.integrations.assistant).
# Off unless AI_BASE_URL names an OpenAI-compatible endpoint (…/v1); see
# docs/integrations/ai-assistant.md for every setting.
AI_BASE_URL = env.str("AI_BASE_URL", default="").strip().rstrip("/")
AI_MODEL = env.str("AI_MODEL", default="").strip()
AI_API_KEY = env.str("AI_API_KEY", default="")
# Connecting, and each wait for the next bytes (headers, a streamed chunk).
AI_TIMEOUT_SECONDS = env.float("AI_TIMEOUT_SECONDS", default=30.0)
# The whole call, however the endpoint trickles its answer.
AI_TOTAL_TIMEOUT_SECONDS = env.float("AI_TOTAL_TIMEOUT_SECONDS", default=120.0)
AI_MAX_HISTORY_MESSAGES = env.int("AI_MAX_HISTORY_MESSAGES", default=20)
AI_MAX_TOKENS = env.int("AI_MAX_TOKENS", default=800)
# "auto": ask for a stream, read either answer; "on"/"off": always/never stream.
AI_STREAM = env.str("AI_STREAM", default="auto").strip().lower()
# The streamed answer's message is edited at most this often.
AI_STREAM_EDIT_INTERVAL_SECONDS = env.float("AI_STREAM_EDIT_INTERVAL_SECONDS", default=0.5)
# The unread messages a summary covers at most (the latest ones).
AI_SUMMARY_MAX_MESSAGES = env.int("AI_SUMMARY_MAX_MESSAGES", default=200)
# Summaries one person may ask for (DRF's "count/period": s, m, h, d).
AI_SUMMARY_RATE = env.str("AI_SUMMARY_RATE", default="20/h")
# Answers one person's messages may ask of the assistants (each a paid call
# of the endpoint and a worker held up to AI_TOTAL_TIMEOUT_SECONDS): a burst,
# then so many an hour (messaging.integrations.assistant.budget).
AI_ANSWER_BURST = env.int("AI_ANSWER_BURST", default=10)
AI_ANSWERS_PER_HOUR = env.float("AI_ANSWERS_PER_HOUR", default=60.0)
# Hosts, addresses or CIDR ranges the endpoint may be on although they are
# loopback or private (a model served on this machine or the intranet).
AI_ALLOW = env.list("AI_ALLOW", default=[])
if AI_STREAM not in ("auto", "on", "off"):
    raise ImproperlyConfigured("AI_STREAM is auto, on or off.")
if not (0 < AI_TIMEOUT_SECONDS <= AI_TOTAL_TIMEOUT_SECONDS <= 3600):
    raise ImproperlyConfigured(
        "AI_TIMEOUT_SECONDS and AI_TOTAL_TIMEOUT_SECONDS are seconds, over 0, "
        "the first at most the second, the second at most 3600."
    )
if AI_MAX_HISTORY_MESSAGES < 1 or AI_MAX_TOKENS < 1 or AI_SUMMARY_MAX_MESSAGES < 1:
    raise ImproperlyConfigured(
        "AI_MAX_HISTORY_MESSAGES, AI_MAX_TOKENS and AI_SUMMARY_MAX_MESSAGES are 1 or more."
    )
if AI_STREAM_EDIT_INTERVAL_SECONDS < 0:
    raise ImproperlyConfigured("AI_STREAM_EDIT_INTERVAL_SECONDS is 0 or more.")
if AI_BASE_URL and not AI_BASE_URL.lower().startswith(("http://", "https://")):
    raise ImproperlyConfigured("AI_BASE_URL is an http:// or https:// URL.")
