"""The embedded default: one machine, SQLite, Celery tasks run in-process, e-mail printed."""

import os

os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from lms.settings.base import *  # noqa: E402,F403
from lms.settings.env import env, env_bool, env_int, env_list  # noqa: E402

DEBUG = env_bool("DEBUG", default=True)
SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="memory://")
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# A signing key of its own for this machine, made on first use under var/ (never committed).
CERTIFICATE_SIGNING_KEY_AUTOGENERATE = env_bool("CERTIFICATE_SIGNING_KEY_AUTOGENERATE", True)
# No beat runs here to count the regulator's figures ahead: each page counts them (a demo's
# few hundred workers take milliseconds). See docs/decisions/0020.
REGULATION_FIGURES_SECONDS = env_int("REGULATION_FIGURES_SECONDS", default=0)
