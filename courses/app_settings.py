"""Every setting the courses app reads that a host site may leave out, with its default.

Read them as ``app_settings.XAPI_MAX_BODY_BYTES`` (``from courses.app_settings import
app_settings``): a host site that installs the app finds here all it may set. Each property
reads the Django setting when it is asked, so ``override_settings`` takes effect at once.
"""

from django.conf import settings

#: The default of :attr:`AppSettings.XAPI_MAX_BODY_BYTES`: 10 MiB.
DEFAULT_XAPI_MAX_BODY_BYTES = 10 * 1024 * 1024
#: The default of :attr:`AppSettings.OFFLINE_NETWORK_TIMEOUT`, in seconds.
DEFAULT_OFFLINE_NETWORK_TIMEOUT = 8.0


class AppSettings:
    """The app's settings, each under its own name in Django's settings."""

    @staticmethod
    def _setting(name: str, default):
        return getattr(settings, name, default)

    @property
    def XAPI_MAX_BODY_BYTES(self) -> int:
        """The largest xAPI statements request read, in bytes (a larger one is refused with
        413 before it is parsed)."""
        return int(self._setting("XAPI_MAX_BODY_BYTES", DEFAULT_XAPI_MAX_BODY_BYTES))

    @property
    def OFFLINE_NETWORK_TIMEOUT(self) -> float:
        """Seconds a phone waits for the server's answer to a page or to a learner's action
        before it takes the network as dead though it looks connected ("lie-fi"): the kept
        copy of the page is shown, the action is queued on the phone (courses.offline)."""
        return float(self._setting("OFFLINE_NETWORK_TIMEOUT", DEFAULT_OFFLINE_NETWORK_TIMEOUT))


app_settings = AppSettings()
