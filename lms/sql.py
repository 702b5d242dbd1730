"""Statements in SQL for the few reads the single-request progress path makes.

Other LMSs send most progress one event or one xAPI statement at a time, and on such a
request the ORM's building and compiling of each query cost about twice what PostgreSQL
spends answering it (docs/decisions/0010). The reads on that path are therefore written in
SQL, from templates that stay portable to the embedded default (SQLite) and never hold a
value. In a template, each ``{name}`` is replaced by what ``values[name]`` is:

- a collection (list, set, tuple, dict keys): a match against any of its values, so
  ``learner_id {learners}`` reads ``learner_id = ANY(%s)`` with one array parameter on
  PostgreSQL (the statement's text does not change with the list's length, and the server
  prepares it once: see ``DATABASE_PREPARE_THRESHOLD``) and ``learner_id IN (%s, …)``
  elsewhere;
- a model class: its table's quoted name (the user model may be a host site's own);
- a :class:`Lock`: the row-locking clause, or nothing where the database locks whole;
- anything else: one parameter, ``= %s``.

Rows that hold dates go through ``Model.objects.raw(*statement(...))``, which converts
values as the ORM does; rows of plain numbers and text through :func:`rows`.
"""

import enum
import string
from collections.abc import Collection
from datetime import UTC

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime


class Lock(enum.Enum):
    UPDATE = " FOR UPDATE"
    NO_KEY_UPDATE = " FOR NO KEY UPDATE"  # what a row whose key is not changed needs


def statement(template: str, **values) -> tuple[str, list]:
    """The SQL of ``template`` with its ``{name}`` slots filled in, and its parameters."""
    parts: list[str] = []
    params: list = []
    for text, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(text)
        if name is None:
            continue
        value = values[name]
        if isinstance(value, type) and issubclass(value, Model):
            parts.append(connection.ops.quote_name(value._meta.db_table))
        elif isinstance(value, Lock):
            parts.append(_lock_clause(value))
        elif isinstance(value, Collection) and not isinstance(value, str | bytes):
            match, match_params = _any_of(list(value))
            parts.append(match)
            params.extend(match_params)
        else:
            parts.append("= %s")
            params.append(value)
    return "".join(parts), params


def rows(template: str, **values) -> list[tuple]:
    """Run the read ``template`` (see :func:`statement`) on the default connection."""
    with connection.cursor() as cursor:
        cursor.execute(*statement(template, **values))
        return cursor.fetchall()


def datetime_value(value):
    """A timestamp read through a cursor, as the ORM would give it: SQLite returns text."""
    if not isinstance(value, str):
        return value
    parsed = parse_datetime(value)
    if settings.USE_TZ and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def prepared(model: type[Model], field: str, values) -> list:
    """``values`` as ``model.field`` stores them (a UUID is text on SQLite, for instance)."""
    model_field = model._meta.get_field(field)
    return [model_field.get_db_prep_value(value, connection) for value in values]


def _any_of(values: list) -> tuple[str, list]:
    if not values:
        raise ValueError("A match needs at least one value.")
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [values]
    return f"IN ({', '.join(['%s'] * len(values))})", values


def _lock_clause(lock: Lock) -> str:
    features = connection.features
    if not features.has_select_for_update:
        return ""
    if lock is Lock.NO_KEY_UPDATE and not features.has_select_for_no_key_update:
        return Lock.UPDATE.value
    return lock.value
