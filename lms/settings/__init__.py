"""Settings are split by purpose; pick one with DJANGO_SETTINGS_MODULE.

- ``lms.settings.dev``: the embedded default (SQLite, eager Celery, console e-mail).
- ``lms.settings.test``: the test suite (SQLite unless DATABASE_URL says otherwise).
- ``lms.settings.production``: refuses to start without its secrets.
"""
