"""Settings of a minimal host Wagtail site that installs the LMS apps (docs/plugin-install.md).

Self-contained on purpose: it imports nothing from ``lms.settings``. Everything not marked
"LMS" is what ``wagtail start`` generates; everything marked "LMS" is what a host adds.
The database is a SQLite file named by ``PLUGGABLE_HOST_DB`` (the test gives a fresh one in a
temporary directory).
"""

import os
import tempfile
from pathlib import Path

SECRET_KEY = "pluggable-host-test-only"  # noqa: S105 - a throwaway host for one test
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    # LMS: the core app and the three plugin apps.
    "lms",
    "competencies",
    "courses",
    "certificates",
    # Wagtail's apps and Django's, as ``wagtail start`` lists them.
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # LMS: accounts, log-in and two-factor authentication.
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "lms.request_checks.RefuseNulMiddleware",  # LMS
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # LMS: after the authentication and message middleware.
    "allauth.account.middleware.AccountMiddleware",
    "lms.middleware.MfaRequiredMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
]

ROOT_URLCONF = "tests.pluggable_host.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_DB_PATH = os.environ.get("PLUGGABLE_HOST_DB") or str(
    Path(tempfile.mkdtemp(prefix="pluggable-host-")) / "db.sqlite3"
)
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": _DB_PATH}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(_DB_PATH).parent / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(_DB_PATH).parent / "media"

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

WAGTAIL_SITE_NAME = "Host site"
WAGTAILADMIN_BASE_URL = "http://localhost"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}

# --- LMS: what the apps need from the host ------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "lms:dashboard"
