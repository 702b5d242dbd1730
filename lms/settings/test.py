"""Settings for the test suite.

SQLite in memory by default; CI points DATABASE_URL at PostgreSQL and CELERY_BROKER_URL at
Redis. Tasks run eagerly unless a test talks to a real worker on purpose.
"""

import os

os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
os.environ.setdefault("DATABASE_URL", "sqlite://:memory:")

from lms.settings.base import *  # noqa: E402,F403
from lms.settings.env import env  # noqa: E402

DEBUG = False
SECRET_KEY = "test-only-key"  # a fixed key keeps signed test data reproducible
ALLOWED_HOSTS = ["*"]
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
ACCOUNT_RATE_LIMITS = False
WAGTAILADMIN_BASE_URL = "http://testserver"
SITE_BASE_URL = WAGTAILADMIN_BASE_URL
# Tests sign with a key made once under var/ (shared by the test worker processes).
CERTIFICATE_SIGNING_KEY_AUTOGENERATE = True
CERTIFICATE_VERIFY_RATE = "10000/m"  # the rate-limit test sets its own
REGULATION_FIGURES_SECONDS = 0  # tests count afresh (the caching test sets its own)
