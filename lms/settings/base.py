"""Settings shared by every environment.

Everything that differs between machines comes from environment variables, read through
:func:`env`. Values here are safe for production; ``dev`` and ``test`` only loosen them.
"""

from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from lms.settings.env import env, env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PROJECT_DIR = BASE_DIR / "lms"

SECRET_KEY = env("SECRET_KEY", default=None)
DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Our apps first so their templates override allauth's and Wagtail's.
    "lms",
    "competencies",
    "courses",
    "certificates",
    "regulation",
    # Authors translate courses in the admin (docs/translations.md); optional for a host site.
    "wagtail_localize",
    "wagtail_localize.locales",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "ninja",  # the API docs' Swagger UI from our own static files, not a CDN (CSP)
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "lms.apps.SuperuserOnlyAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "lms.request_checks.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "lms.security_headers.ContentSecurityPolicyMiddleware",
    "lms.security_headers.PermissionsPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "lms.middleware.MfaRequiredMiddleware",
    "courses.translations.PreferredLanguageMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "lms.urls"
WSGI_APPLICATION = "lms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# DATABASE_URL picks the engine: postgres://… in production and CI, SQLite by default.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", default=0),
        conn_health_checks=True,
    )
}
# On PostgreSQL, parameters are bound by the server and a query run a few times on a
# connection becomes a prepared statement, planned once (docs/decisions/0019): planning the
# joins of a page or certificate took longer than running them. Off (DATABASE_PREPARED=false)
# behind a pooler in transaction mode older than PgBouncer 1.21, which loses them.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "DATABASE_PREPARED", default=True
):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=env_int("DATABASE_PREPARE_THRESHOLD", default=2),
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------------------
CACHE_URL = env("CACHE_URL", default=env("REDIS_URL", default=""))
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "lms",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Each process's copies of the course structure, webhooks and framework graph on the progress
# path (docs/decisions/0019): on by default only with the shared (Redis) cache, which tells
# every process of a change.
if env("PROGRESS_CACHES", default=""):
    PROGRESS_CACHES = env_bool("PROGRESS_CACHES", default=False)

# --- Authentication (django-allauth) ------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# One door: every sign-in, the Wagtail admin's and Django admin's too, is allauth's, with its
# second-factor stage (lms/urls.py sends the admins' own log-in pages there).
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "lms:dashboard"
WAGTAILADMIN_LOGIN_URL = LOGIN_URL
WAGTAIL_PASSWORD_RESET_ENABLED = False  # allauth's reset is the only one
ACCOUNT_ADAPTER = "lms.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "lms.forms.LoginForm"}
# Many volunteers have no e-mail address: they sign up and log in with a username; those
# who have one may log in with either.
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_UNIQUE_EMAIL = True
# Neither log-in nor password reset tells whether an address has an account: reset answers
# every address alike and mails the address itself (a link, or "there is no account here").
# Sign-up still says that an address is taken: allauth can hide it only where every new
# address must be confirmed before the first log-in, and volunteers without one must not wait.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[SSW Learning] "
# A locked-out log-in answers 429 with Retry-After: the longest of these windows (lms.lockout).
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_FORMS = {"authenticate": "lms.forms.MfaAuthenticateForm"}
MFA_TOTP_ISSUER = env("MFA_TOTP_ISSUER", default="SSW Learning")

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [PROJECT_DIR / "locale"]
FORMAT_MODULE_PATH = ["lms.formats"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = env("MEDIA_URL", default="/media/")
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if env("MEDIA_STORAGE", default="filesystem") == "s3":
    # Any S3-compatible store, configured by django-storages' own AWS_* variables.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "default_acl": None,
            "querystring_auth": True,
        },
    }

# --- E-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env_int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent-emails"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="SSW Learning <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only once it has run, so a worker killed mid-task hands it on.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes every database connection around every task unless this is
# set; with it, lms.celery closes only what Django would (CONN_MAX_AGE, errors), and Celery
# recycles connections after this many tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker that is down, or takes connections and never answers, must not hold a learner's
# request: sending a task gives up after a few seconds (the pending sweep renders later).
# A task held by a worker that died is handed out again after the visibility timeout;
# keep it above CELERY_TASK_TIME_LIMIT.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": env_int("CELERY_BROKER_SOCKET_TIMEOUT", default=2),
    "socket_timeout": env_int("CELERY_BROKER_SOCKET_TIMEOUT", default=2),
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
CELERY_TIMEZONE = TIME_ZONE
# How old a regulator's workspace figures may be before a page asks for a new count
# (regulation.counting), and how long a page's numbers are kept (regulation.figures_cache);
# 0: counted within each request.
REGULATION_FIGURES_SECONDS = env_int("REGULATION_FIGURES_SECONDS", default=600)
# Seconds a phone's service worker waits for the network before it keeps an action on the
# phone as if offline (a "connected" network that answers nothing: docs/decisions/0018).
OFFLINE_NETWORK_TIMEOUT = float(env("OFFLINE_NETWORK_TIMEOUT", default="8"))
CELERY_BEAT_SCHEDULE: dict = {
    "regulation-count-figures": {
        "task": "regulation.tasks.count_all_figures",
        "schedule": 300.0,  # within REGULATION_FIGURES_SECONDS (600 s), so pages never wait
    },
    "regulation-cpd-reminders": {
        "task": "regulation.tasks.send_cpd_reminders",
        "schedule": 6 * 3600.0,  # idempotent: each reminder is sent once
    },
    "certificates-sweep-pending": {
        "task": "certificates.tasks.sweep_pending_certificates",
        "schedule": 300.0,
    },
    "certificates-expiry-reminders": {
        "task": "certificates.tasks.send_expiry_reminders",
        "schedule": 6 * 3600.0,  # idempotent: each reminder is sent once
    },
    "certificates-flush-verification-counts": {
        "task": "certificates.tasks.flush_verification_counts",
        "schedule": 10.0,  # counts kept in Redis reach the database within seconds
    },
}

# --- xAPI -------------------------------------------------------------------------------------
# The largest request /xapi/statements reads (statements with their attachments): 413 above.
XAPI_MAX_BODY_BYTES = env_int("XAPI_MAX_BODY_BYTES", default=10 * 1024 * 1024)

# --- Certificates -----------------------------------------------------------------------
# The Ed25519 key that signs credentials: `manage.py certificate_signing_key` makes one.
CERTIFICATE_SIGNING_KEY = env("CERTIFICATE_SIGNING_KEY", default="")
CERTIFICATE_SIGNING_KEY_FILE = env("CERTIFICATE_SIGNING_KEY_FILE", default="")
CERTIFICATE_PREVIOUS_PUBLIC_KEYS = env_list("CERTIFICATE_PREVIOUS_PUBLIC_KEYS", default=[])
CERTIFICATE_SIGNING_KEY_AUTOGENERATE = env_bool("CERTIFICATE_SIGNING_KEY_AUTOGENERATE", False)
CERTIFICATE_EXPIRY_REMINDER_DAYS = [
    int(days) for days in env_list("CERTIFICATE_EXPIRY_REMINDER_DAYS", default=["60", "14"])
]
# Verification by anyone: lookups per client in any span of the period, before a 429.
CERTIFICATE_VERIFY_RATE = env("CERTIFICATE_VERIFY_RATE", default="60/m")
# Bulk verification (API and page): codes per API key or person in any span of the period.
CERTIFICATE_BULK_VERIFY_RATE = env("CERTIFICATE_BULK_VERIFY_RATE", default="5000/m")
# With a Redis cache: how long a certificate's public facts are kept for verification by
# code (every change through the services clears them at once; 0: never kept).
CERTIFICATE_VERIFY_CACHE_SECONDS = env_int("CERTIFICATE_VERIFY_CACHE_SECONDS", default=600)
# Behind a reverse proxy, the header that carries the client's address (e.g.
# HTTP_X_FORWARDED_FOR, as the proxy sets it): otherwise every client counts as the proxy.
if env("RATELIMIT_IP_META_KEY", default=""):
    RATELIMIT_IP_META_KEY = env("RATELIMIT_IP_META_KEY")

# --- Wagtail ------------------------------------------------------------------------------
WAGTAIL_SITE_NAME = env("WAGTAIL_SITE_NAME", default="SSW Learning")
WAGTAILADMIN_BASE_URL = env("SITE_BASE_URL", default="http://localhost:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "txt", "xlsx", "zip"]
# Course pages have translations (a locale per language, wagtail-localize in the admin); the
# site's language picks the translation shown (courses.translations).
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
# No avatars from Gravatar: it would send a hash of staff e-mails to a third party and show
# broken images on the offline networks many institutions work on.
WAGTAIL_GRAVATAR_PROVIDER_URL = None
SITE_BASE_URL = WAGTAILADMIN_BASE_URL

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Features no page here uses, refused to every page and frame (lms.security_headers).
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Content-Security-Policy (django-csp; lms.security_headers picks one policy per path).
# Learner and public pages run only our own script files (the offline helpers and service
# worker of courses.offline) and carry no inline script or style: the strict policy.
# Images may come from the media storage (CSP_MEDIA_ORIGINS, e.g. an S3 endpoint) and lesson
# videos play in a YouTube or Vimeo frame.
_media_origins = env_list(
    "CSP_MEDIA_ORIGINS",
    default=[env("AWS_S3_ENDPOINT_URL", default="")]
    if env("MEDIA_STORAGE", default="filesystem") == "s3"
    else [],
)
_media_origins = [origin for origin in _media_origins if origin]
_video_origins = [
    "https://www.youtube.com",
    "https://www.youtube-nocookie.com",
    "https://player.vimeo.com",
]
_strict_policy = {
    "default-src": [SELF],
    "script-src": [SELF],
    "style-src": [SELF],
    "img-src": [SELF, "data:", *_media_origins],
    "media-src": [SELF, *_media_origins],
    "frame-src": [SELF, *_video_origins],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [SELF],
}
CONTENT_SECURITY_POLICY = {"DIRECTIVES": _strict_policy}
# Wagtail's admin (and Django's) write inline scripts, inline styles and blob: previews; the
# page editor previews the page in a same-origin frame.
_admin_policy = {
    **_strict_policy,
    "script-src": [SELF, UNSAFE_INLINE],
    "style-src": [SELF, UNSAFE_INLINE],
    "img-src": [SELF, "data:", "blob:", *_media_origins],
    "font-src": [SELF, "data:"],
}
# JSON answers load nothing and are never framed.
_api_policy = {"default-src": [NONE], "frame-ancestors": [NONE]}
# The API's documentation page: django-ninja's Swagger UI, from our own static files.
_api_docs_policy = {**_strict_policy, "style-src": [SELF, UNSAFE_INLINE]}
#: Other policies by path prefix; the first prefix that matches wins, others get the strict one.
CONTENT_SECURITY_POLICY_BY_PATH = [
    ("/api/v1/docs", _api_docs_policy),
    ("/api/", _api_policy),
    ("/xapi/", _api_policy),
    ("/ims/", _api_policy),
    ("/credentials/", _api_policy),  # signed credentials, issuer profiles: JSON-LD
    ("/admin/", _admin_policy),
    ("/django-admin/", _admin_policy),
]
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        # WeasyPrint tells each step of each PDF at INFO: seven lines per certificate.
        "weasyprint.progress": {"level": "WARNING"},
    },
}


def require_setting(name: str, value):
    """Fail loudly when a setting production cannot run without is missing."""
    if not value:
        raise ImproperlyConfigured(
            f"The {name} environment variable is required in production settings."
        )
    return value
