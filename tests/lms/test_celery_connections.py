"""Database connections around Celery tasks: kept as Django keeps them, not one per task."""

import pytest
from celery.signals import task_postrun, task_prerun
from django.db import connection

import lms.celery  # noqa: F401 - connects the task signal receivers


class _Request:
    def __init__(self, eager: bool):
        self.is_eager = eager


class _Task:
    """What the signals send: the task, whose request says whether it runs eagerly."""

    def __init__(self, eager: bool):
        self.request = _Request(eager)


def _task(*, eager: bool) -> _Task:
    return _Task(eager)


@pytest.fixture
def fresh_connection(settings):
    """An open connection that Django may keep for ten minutes."""
    if connection.vendor == "sqlite":
        pytest.skip("an in-memory SQLite connection is never closed")
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 600
    connection.ensure_connection()
    yield connection.connection
    connection.settings_dict["CONN_MAX_AGE"] = settings.DATABASES["default"]["CONN_MAX_AGE"]


@pytest.mark.django_db(transaction=True)
def test_a_task_keeps_a_healthy_connection(fresh_connection):
    task_prerun.send(sender=_task(eager=False))
    task_postrun.send(sender=_task(eager=False))
    assert connection.connection is fresh_connection


@pytest.mark.django_db(transaction=True)
def test_a_task_closes_a_connection_past_its_age(fresh_connection):
    connection.close_at = 0  # its CONN_MAX_AGE has run out
    task_postrun.send(sender=_task(eager=False))
    assert connection.connection is None


@pytest.mark.django_db(transaction=True)
def test_a_task_closes_a_connection_after_a_database_error(fresh_connection):
    connection.errors_occurred = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.connection.close()  # the server went away meanwhile
    task_postrun.send(sender=_task(eager=False))
    assert connection.connection is None


def test_celery_is_told_not_to_close_every_connection_itself(settings):
    from lms.celery import app

    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX >= 100


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_leaves_the_callers_connection_alone(fresh_connection):
    connection.close_at = 0
    task_postrun.send(sender=_task(eager=True))
    assert connection.connection is fresh_connection
