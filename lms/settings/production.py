"""Production: PostgreSQL, Redis, real SMTP, HTTPS. Refuses to start without its secrets."""

from lms.settings.base import *  # noqa: F403
from lms.settings.base import require_setting
from lms.settings.env import env_bool, env_int

DEBUG = False
SECRET_KEY = require_setting("SECRET_KEY", SECRET_KEY)  # noqa: F405
ALLOWED_HOSTS = require_setting("ALLOWED_HOSTS", ALLOWED_HOSTS)  # noqa: F405

# Persistent connections: a web worker reuses its database connection between requests.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", default=600)  # noqa: F405

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

# Wagtail's live preview shows the page in a same-origin frame, so frames stay allowed from
# our own origin (X_FRAME_OPTIONS = "SAMEORIGIN" in base); other origins are still refused.
SILENCED_SYSTEM_CHECKS = ["security.W019"]
