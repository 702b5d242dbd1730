"""Every setting the competencies app reads that a host site may leave out, with its default.

The app has none of its own today: frameworks, scales and evidence rules are data, edited in
the Wagtail admin, not settings. Its per-process copy of the published frameworks follows
``PROGRESS_CACHES`` (:attr:`lms.app_settings.AppSettings.PROGRESS_CACHES`). A setting added
to the app is declared here, with its default and what it is for, and read as
``app_settings.NAME`` (``from competencies.app_settings import app_settings``).
"""


class AppSettings:
    """The app's settings (none yet)."""


app_settings = AppSettings()
