"""Every setting the lms app reads that a host site may leave out, with its default.

Read them as ``app_settings.SITE_BASE_URL`` (``from lms.app_settings import app_settings``),
never with ``getattr(settings, …)`` elsewhere: a host site that installs the app finds here
all it may set. Each property reads the Django setting when it is asked, so
``override_settings`` (and pytest-django's ``settings`` fixture) take effect at once.
Django's own settings (``DEBUG``, ``MIDDLEWARE``, ``LANGUAGES``…) are read from
``django.conf.settings`` as usual.
"""

from django.conf import settings


class AppSettings:
    """The app's settings, each under its own name in Django's settings."""

    @staticmethod
    def _setting(name: str, default):
        return getattr(settings, name, default)

    # --- Links ------------------------------------------------------------------------

    @property
    def SITE_BASE_URL(self) -> str:
        """The site's public address, for every link that leaves it (QR codes, credentials,
        e-mails, webhooks); empty: Wagtail's ``WAGTAILADMIN_BASE_URL`` (see
        :mod:`lms.links`)."""
        return self._setting("SITE_BASE_URL", "") or ""

    @property
    def WAGTAILADMIN_BASE_URL(self) -> str:
        """Wagtail's own setting, used when ``SITE_BASE_URL`` is not set."""
        return self._setting("WAGTAILADMIN_BASE_URL", "") or ""

    # --- Caches -----------------------------------------------------------------------

    @property
    def CACHE_BACKEND(self) -> str:
        """The default cache's backend (``CACHES["default"]["BACKEND"]``): whether every
        process shares it (Redis) decides the defaults below."""
        return settings.CACHES["default"]["BACKEND"]

    @property
    def API_KEY_CACHE_SECONDS(self) -> int | None:
        """How long a found API key is kept in the cache; None: 30 s with a cache every
        process shares, 0 (not kept) with a per-process one, which a revocation in another
        process could not reach (see :func:`lms.services.api_key_authenticate`)."""
        return self._setting("API_KEY_CACHE_SECONDS", None)

    @property
    def PROGRESS_CACHES(self) -> bool | None:
        """Whether each process keeps copies of the course structure, webhooks and framework
        graph (:mod:`lms.caches`); None: on with a cache every process shares, off with a
        per-process one, through which a change made in another process could not be told."""
        return self._setting("PROGRESS_CACHES", None)

    # --- Security headers ---------------------------------------------------------------

    @property
    def CONTENT_SECURITY_POLICY_BY_PATH(self) -> tuple:
        """``(path prefix, directives)`` pairs replacing ``CONTENT_SECURITY_POLICY`` under a
        prefix (see :mod:`lms.security_headers`)."""
        return tuple(self._setting("CONTENT_SECURITY_POLICY_BY_PATH", ()))

    @property
    def PERMISSIONS_POLICY(self) -> str:
        """The ``Permissions-Policy`` header's value; empty: none is sent."""
        return self._setting("PERMISSIONS_POLICY", "")


app_settings = AppSettings()
