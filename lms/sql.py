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
  elsewhere (one value reads ``= %s``: see :func:`_any_of`);
- a model class: its table's quoted name (the user model may be a host site's own);
- a :class:`Lock`: the row-locking clause, or nothing where the database locks whole;
- anything else: one parameter, ``= %s``.

:func:`read_all` runs several reads in one round trip where it can, and gives each one's
rows, or instances of its model converted as the ORM converts them; :func:`rows` runs one.
"""

import enum
import string
from collections.abc import Callable, Collection
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from django.db import connection, connections
from django.db.models import Model


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
    return read_all(Read(template, values))[0]


@dataclass(frozen=True)
class Read:
    """A read for :func:`read_all`: a template (see :func:`statement`), the values of its
    slots, the model whose rows it selects (``SELECT *``, plus any other columns, which
    become attributes) or None for plain rows, and what to make of the rows (``result``,
    given the rows or instances; by default the list itself). A selector that returns a
    ``Read`` lets its caller run it together with others."""

    template: str
    values: dict
    model: type[Model] | None = None
    result: Callable[[list], Any] | None = None


def read_all(*reads: Read) -> list[list]:
    """Run ``reads`` in order; each one's rows, or instances of its model (or its result).

    On PostgreSQL they go to the server together in one round trip (psycopg's pipeline mode),
    with the ``BEGIN`` of a transaction that starts with them: each still runs after the one
    before it, so a read after a row lock sees what the lock waited for. A round trip costs
    both processes more CPU than a small statement does (docs/decisions/0010). Elsewhere they
    run one by one. Model rows are converted as the ORM converts them.
    """
    connection.ensure_connection()
    cursors = []
    try:
        together = connection.connection.pipeline() if _pipelines() else nullcontext()
        # Errors of a pipeline arrive when it ends: raised as Django's, as a cursor's are.
        with connection.wrap_database_errors, together:
            for read in reads:
                cursors.append(connection.cursor())
                cursors[-1].execute(*statement(read.template, **read.values))
        results = [
            cursor.fetchall() if read.model is None else _instances(read.model, cursor)
            for read, cursor in zip(reads, cursors, strict=True)
        ]
        return [
            found if read.result is None else read.result(found)
            for read, found in zip(reads, results, strict=True)
        ]
    finally:
        for cursor in cursors:
            cursor.close()


def _pipelines() -> bool:
    """Whether reads can share a round trip: PostgreSQL through a libpq of version 14 or
    later (psycopg's binary package brings its own)."""
    if connection.vendor != "postgresql":
        return False
    import psycopg

    return psycopg.Pipeline.is_supported()


@dataclass(frozen=True)
class _RowPlan:
    """How a cursor's columns become one model's instances (see :func:`_instances`)."""

    positions: list[int]  # the column of each concrete field, in field order
    attnames: list[str]
    converters: list[tuple[int, list, Any]]  # (field index, converters, column expression)
    extra: list[tuple[str, int]]  # columns beyond the model's: (attribute, column)


#: Plans by database connection (each thread has its own), model and selected columns: a
#: progress event makes the same reads every time.
_row_plans: WeakKeyDictionary = WeakKeyDictionary()


def _row_plan(model: type[Model], names: tuple[str, ...]) -> _RowPlan:
    wrapper = connections[connection.alias]
    plans = _row_plans.setdefault(wrapper, {})
    plan = plans.get((model, names))
    if plan is None:
        position = {name: index for index, name in enumerate(names)}
        fields = model._meta.concrete_fields
        try:
            positions = [position[field.column] for field in fields]
        except KeyError as missing:
            raise ValueError(f"The read selects no column {missing} of {model.__name__}.") from None
        columns = [field.get_col(model._meta.db_table) for field in fields]
        converters = [(index, _converters(column)) for index, column in enumerate(columns)]
        taken = set(positions)
        plan = plans[model, names] = _RowPlan(
            positions=positions,
            attnames=[field.attname for field in fields],
            converters=[(index, funcs, columns[index]) for index, funcs in converters if funcs],
            extra=[(name, index) for name, index in position.items() if index not in taken],
        )
    return plan


def _instances(model: type[Model], cursor) -> list[Model]:
    """The cursor's rows as instances of ``model``, each value converted as the ORM would."""
    plan = _row_plan(model, tuple(column[0] for column in cursor.description))
    instances = []
    for row in cursor.fetchall():
        values = [row[index] for index in plan.positions]
        for index, funcs, column in plan.converters:
            for func in funcs:
                values[index] = func(values[index], column, connection)
        instance = model.from_db(connection.alias, plan.attnames, values)
        for name, index in plan.extra:
            setattr(instance, name, row[index])
        instances.append(instance)
    return instances


def converted(model: type[Model], field: str, value):
    """``value`` of ``model.field`` read through a cursor (a plain row), converted as the ORM
    converts it: SQLite gives dates as text, for instance."""
    column = model._meta.get_field(field).get_col(model._meta.db_table)
    for func in _converters(column):
        value = func(value, column, connection)
    return value


def _converters(column) -> list:
    """Django's converters for a column read on the default connection (its backend's, then
    its field's)."""
    wrapper = connections[connection.alias]
    return wrapper.ops.get_db_converters(column) + column.get_db_converters(wrapper)


def prepared(model: type[Model], field: str, values) -> list:
    """``values`` as ``model.field`` stores them (a UUID is text on SQLite, for instance)."""
    model_field = model._meta.get_field(field)
    return [model_field.get_db_prep_value(value, connection) for value in values]


def _any_of(values: list) -> tuple[str, list]:
    if not values:
        raise ValueError("A match needs at least one value.")
    if len(values) == 1:
        # PostgreSQL would plan a prepared ``= ANY($1)`` afresh on every run (its generic plan
        # looks dearer than one made for a one-element array); ``= $1`` keeps its plan.
        return "= %s", values
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
