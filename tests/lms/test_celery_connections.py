"""Database connections around Celery tasks: kept as Django keeps them, not one per task."""

from types import SimpleNamespace

import pytest
from celery.signals import task_postrun, task_prerun
from django.db import connection

import lms.celery  # connects the task signal receivers


class _Task:
    """What the signals send (hashable, as Celery's dispatcher needs): the task, whose
    request says whether it runs eagerly."""

    def __init__(self, *, eager: bool):
        self.request = SimpleNamespace(is_eager=eager)


#: An in-memory SQLite connection is never closed: nothing to test there.
server_connection = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="an in-memory SQLite connection is never closed"
)


@pytest.fixture
def fresh_connection(settings):
    """An open connection that Django may keep for ten minutes."""
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 600
    connection.ensure_connection()
    yield connection.connection
    connection.settings_dict["CONN_MAX_AGE"] = settings.DATABASES["default"]["CONN_MAX_AGE"]


def _around_a_task(task: _Task) -> None:
    """What a worker runs around a task: Celery's Django fix-up, configured from our
    settings as a worker's is, and our receivers of the same signals."""
    from celery.fixups.django import DjangoWorkerFixup

    fixup = DjangoWorkerFixup(lms.celery.app)
    fixup.on_task_prerun(sender=task)
    task_prerun.send(sender=task)
    fixup.on_task_postrun(sender=task)
    task_postrun.send(sender=task)


@server_connection
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_keeps_a_healthy_connection(fresh_connection):
    """Neither the fix-up (told to reuse connections) nor ours closes it: without
    CELERY_DB_REUSE_MAX the fix-up would close it before and after every task."""
    _around_a_task(_Task(eager=False))
    _around_a_task(_Task(eager=False))
    assert connection.connection is fresh_connection


@server_connection
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_closes_a_connection_past_its_age(fresh_connection):
    connection.close_at = 0  # its CONN_MAX_AGE has run out
    task_postrun.send(sender=_Task(eager=False))
    assert connection.connection is None


@server_connection
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_closes_a_connection_after_a_database_error(fresh_connection):
    connection.errors_occurred = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.connection.close()  # the server went away meanwhile
    task_postrun.send(sender=_Task(eager=False))
    assert connection.connection is None


def test_celery_is_told_not_to_close_every_connection_itself(settings):
    from lms.celery import app

    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX >= 100


@server_connection
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_eager_task_leaves_the_callers_connection_alone(fresh_connection):
    connection.close_at = 0
    task_postrun.send(sender=_Task(eager=True))
    assert connection.connection is fresh_connection
