"""The Celery application, as in Celery's own Django example.

Workers start with ``celery -A lms worker``; the periodic scheduler with ``celery -A lms beat``.
Configuration comes from Django settings prefixed ``CELERY_``.
"""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.dev")

app = Celery("lms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(dispatch_uid="lms.celery.connections_before_task")
@task_postrun.connect(dispatch_uid="lms.celery.connections_after_task")
def _database_connections_tidy(sender=None, **kwargs) -> None:
    """Around each task, what Django does around each request: close a connection that is
    broken, left in a transaction or older than ``CONN_MAX_AGE``, and keep the others.

    Celery's own Django fix-up would close every connection before and after every task
    (``CELERY_DB_REUSE_MAX`` unset): a new PostgreSQL backend process for each certificate,
    which cost the certificate benchmark as much CPU as the credential and the storage
    together. Tasks run eagerly (tests, dev) share the caller's connection and are left alone.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
