"""Project package and the cross-cutting core app: institutions, roles, learner profiles, API keys.

The Celery app is imported here so that ``@shared_task`` uses it when Django starts.
"""

from lms.celery import app as celery_app

__all__ = ("celery_app",)
