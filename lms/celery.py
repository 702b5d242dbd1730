"""The Celery application, as in Celery's own Django example.

Workers start with ``celery -A lms worker``; the periodic scheduler with ``celery -A lms beat``.
Configuration comes from Django settings prefixed ``CELERY_``.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.dev")

app = Celery("lms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
