"""Statements in SQL for the few reads and inserts the single-request progress path makes.

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
rows, or instances of its model converted as the ORM converts them.
:func:`insert` writes new instances as ``bulk_create`` does, for less CPU, several models in
one round trip where it can.
"""

import enum
import string
from collections.abc import Callable, Collection, Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import NOT_PROVIDED, Model

from lms import sql_wire


class Lock(enum.Enum):
    UPDATE = " FOR UPDATE"
    NO_KEY_UPDATE = " FOR NO KEY UPDATE"  # what a row whose key is not changed needs


def statement(template: str, **values) -> tuple[str, list]:
    """The SQL of ``template`` with its ``{name}`` slots filled in, and its parameters."""
    db = _database()
    parts: list[str] = []
    params: list = []
    for text, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(text)
        if name is None:
            continue
        value = values[name]
        if isinstance(value, type) and issubclass(value, Model):
            parts.append(db.ops.quote_name(value._meta.db_table))
        elif isinstance(value, Lock):
            parts.append(_lock_clause(db, value))
        elif isinstance(value, Collection) and not isinstance(value, str | bytes):
            match, match_params = _any_of(db, list(value))
            parts.append(match)
            params.extend(match_params)
        else:
            parts.append("= %s")
            params.append(value)
    return "".join(parts), params


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

    On PostgreSQL they go to the server together in one round trip (libpq's pipeline mode, see
    :mod:`lms.sql_wire`),
    with the ``BEGIN`` of a transaction that starts with them: each still runs after the one
    before it, so a read after a row lock sees what the lock waited for. A round trip costs
    both processes more CPU than a small statement does (docs/decisions/0010). Elsewhere they
    run one by one. Model rows are converted as the ORM converts them.
    """
    db = _database()
    with _Together(db, _statements(reads)) as cursors:
        return _results(db, reads, cursors)


def _statements(reads: Iterable[Read]) -> list[tuple[str, list]]:
    return [statement(read.template, **read.values) for read in reads]


def _results(db, reads, cursors) -> list:
    """What each read gives (see :class:`Read`), from its cursor."""
    found = []
    for read, cursor in zip(reads, cursors, strict=True):
        rows = cursor.fetchall() if read.model is None else _instances(db, read.model, cursor)
        found.append(rows if read.result is None else read.result(rows))
    return found


def insert(*groups: Iterable[Model], then: Collection[Read] = ()) -> list:
    """Insert each group of new instances (one model a group), in order, and set their keys;
    then run the reads ``then``, in the same round trip, and return what they give (as
    :func:`read_all` does: a read that must follow the inserts need not cost a round trip of
    its own).

    What ``bulk_create`` does for new rows, for less CPU: Django's insert compiler cost about
    as much as the round trip itself for the one or two rows of a single progress event
    (docs/decisions/0011). Each value is prepared as the ORM prepares it (``pre_save``, which
    fills in ``auto_now_add``, then ``get_db_prep_save``), a foreign key set to an instance
    saved since takes its key, and no signal is sent (``bulk_create`` sends none either).

    The groups go to the server together as :func:`read_all`'s reads do. A group may point
    to new instances of an earlier group (a completion to its event): the key, not known
    before the round trip, is then read in the row's ``INSERT`` by a subquery on a unique
    field or unconditional unique constraint whose values the instance has (an event's
    ``event_id``), and set on the instance afterwards. Pointing to any other unsaved instance,
    or to one whose model has no such unique values, is refused before anything is sent, as
    ``bulk_create`` refuses it.

    A group of more than :data:`_FEW_ROWS` (a batch's) goes as one ``INSERT … SELECT * FROM
    UNNEST(…)`` on PostgreSQL, one array per column (what ``bulk_create`` sends there, without
    its compiler), and through ``bulk_create`` itself elsewhere; its rows are written after
    the groups before it when it points to them.
    """
    db = _database()
    planned = [g for g in (_GroupInsert(db, list(group)) for group in groups) if g.objs]
    earlier: set[int] = set()
    for group in planned:
        group.check(earlier)
        earlier.update(map(id, group.objs))
    together: list[_GroupInsert] = []
    for group in planned:
        if group.large and (group.points or group.plan.unnest is None):
            _insert_together(db, together)  # the rows it points to first
            together = []
            group.point_by_keys()
            if group.plan.unnest is None:
                group.plan.model.objects.bulk_create(group.objs)
                continue
        together.append(group)
    return _insert_together(db, together, then)


#: Groups larger than this go as one array per column (``UNNEST``) where the database has it:
#: a batch's long ``VALUES`` list, parsed and planned afresh, cannot beat that.
_FEW_ROWS = 20


class _GroupInsert:
    """One group of :func:`insert`: its instances, plan, and foreign keys to earlier groups."""

    def __init__(self, db, objs: list[Model]):
        self.db = db
        self.objs = objs
        self.plan = _insert_plan(db, type(objs[0])) if objs else None
        limit = db.features.max_query_params
        self.large = bool(objs) and (
            len(objs) > _FEW_ROWS or bool(limit and len(objs) * len(self.plan.fields) > limit)
        )
        #: Per instance, its foreign keys to new instances of earlier groups: (field, the
        #: instance, the subquery finding its key and its values; None in a large group,
        #: which is written once they are and takes their keys: see point_by_keys).
        self.pointing: list[list[tuple[Any, Model, tuple[str, list] | None]]] = []

    def check(self, earlier: set[int]) -> None:
        """Refuse what :func:`insert` refuses, before anything is written, and take the keys
        of related instances saved since they were set (what ``Model.save`` does, in
        ``_prepare_related_fields_for_save``)."""
        plan = self.plan
        for obj in self.objs:
            if type(obj) is not plan.model or obj.pk is not None:
                raise ValueError(f"insert() takes new {plan.model.__name__}s only, not {obj!r}.")
            pointing = []
            cached = obj._state.fields_cache  # what get_cached_value reads, without a KeyError
            for field in plan.relations:
                related = cached.get(field.cache_name)
                if related is None:
                    continue
                key = getattr(related, field.target_field.attname)
                if key is None:
                    if id(related) not in earlier:  # as Model.save and bulk_create say it
                        raise ValueError(
                            "insert() prohibited to prevent data loss due to unsaved related "
                            f"object '{field.name}'."
                        )
                    # A large group is written after the earlier groups, and takes the keys.
                    lookup = (
                        None
                        if self.large
                        else _found_by(self.db, related, column=field.target_field)
                    )
                    pointing.append((field, related, lookup))
                elif getattr(obj, field.attname) is None:
                    setattr(obj, field.name, related)  # saved since: its key, kept cached
                elif getattr(obj, field.attname) != key:
                    field.delete_cached_value(obj)  # the key set since wins, as in save()
            self.pointing.append(pointing)

    @property
    def points(self) -> bool:
        """Whether some instance points to new instances of earlier groups."""
        return any(self.pointing)

    def point_by_keys(self) -> None:
        """Point to the earlier groups' instances by their keys, now that they are written."""
        for obj, pointing in zip(self.objs, self.pointing, strict=True):
            for field, related, _lookup in pointing:
                setattr(obj, field.name, related)
            pointing.clear()

    def statement(self) -> tuple[str, list]:
        db, plan = self.db, self.plan
        if self.large:  # one array of each column's values
            objs = self.objs
            columns = [
                [field.get_db_prep_save(field.pre_save(obj, True), db) for obj in objs]
                for field in plan.fields
            ]
            return plan.into + plan.unnest + plan.tail, columns
        rows: list[str] = []
        params: list = []
        for obj, pointing in zip(self.objs, self.pointing, strict=True):
            if not pointing:
                rows.append(plan.row)
                params.extend(
                    field.get_db_prep_save(field.pre_save(obj, True), db) for field in plan.fields
                )
                continue
            lookups = {field.attname: lookup for field, _related, lookup in pointing}
            slots = []
            for field in plan.fields:
                lookup = lookups.get(field.attname)
                if lookup is None:
                    slots.append("%s")
                    params.append(field.get_db_prep_save(field.pre_save(obj, True), db))
                else:
                    slots.append(lookup[0])
                    params.extend(lookup[1])
            rows.append(f"({', '.join(slots)})")
        return plan.into + "VALUES " + ", ".join(rows) + plan.tail, params

    def keys_set(self, cursor) -> None:
        db, plan = self.db, self.plan
        for obj, (key,) in zip(self.objs, cursor.fetchall(), strict=True):
            for func in plan.key_converters:
                key = func(key, plan.key_column, db)
            obj.pk = key
            obj._state.adding = False
            obj._state.db = db.alias
        for obj, pointing in zip(self.objs, self.pointing, strict=True):
            for field, related, _lookup in pointing:
                setattr(obj, field.name, related)  # its key now, and still cached


def _insert_together(db, groups: list[_GroupInsert], reads: Collection[Read] = ()) -> list:
    if not (groups or reads):
        return []
    statements = [group.statement() for group in groups] + _statements(reads)
    with _Together(db, statements) as cursors:
        for group, cursor in zip(groups, cursors, strict=False):
            group.keys_set(cursor)
        return _results(db, reads, cursors[len(groups) :])


def _found_by(db, obj: Model, *, column) -> tuple[str, list]:
    """A subquery reading ``column`` of ``obj``'s row, not yet written, and its values: by
    the first unique field or unconditional unique constraint whose values ``obj`` has."""
    for fields, subquery in _subqueries(db, type(obj), column):
        values = [field.get_db_prep_save(getattr(obj, field.attname), db) for field in fields]
        if all(value is not None for value in values):
            return subquery, values
    raise ValueError(
        f"insert() cannot point to a new {obj._meta.model_name} of an earlier group: "
        "no unique field or constraint of it has values to find its row by."
    )


#: Per database connection, model and column: the unique fields that can find a row, each
#: set with its subquery (see :func:`_found_by`).
_found_by_plans: WeakKeyDictionary = WeakKeyDictionary()


def _subqueries(db, model: type[Model], column) -> list[tuple[tuple, str]]:
    plans = _found_by_plans.setdefault(db, {})
    found = plans.get((model, column))
    if found is None:
        meta = model._meta
        unique_sets = [
            (field,) for field in meta.concrete_fields if field.unique and not field.primary_key
        ]
        unique_sets += [
            tuple(meta.get_field(name) for name in constraint.fields)
            for constraint in meta.total_unique_constraints
        ]
        quote = db.ops.quote_name
        found = plans[model, column] = [
            (
                fields,
                f"(SELECT {quote(column.column)} FROM {quote(meta.db_table)} "  # noqa: S608
                f"WHERE {' AND '.join(f'{quote(field.column)} = %s' for field in fields)})",
            )
            for fields in unique_sets
        ]
    return found


@dataclass(frozen=True)
class _InsertPlan:
    """How :func:`insert` writes one model's rows: ``into``, then ``VALUES`` with a ``row``
    per instance or ``unnest`` (None where the database or a column has no arrays), then
    ``tail``."""

    model: type[Model]
    fields: list  # every concrete field but the primary key, which the database gives
    relations: list  # the foreign keys among them
    into: str
    row: str
    unnest: str | None
    tail: str
    key_column: Any
    key_converters: list


#: Plans by database connection and model, as :data:`_row_plans`.
_insert_plans: WeakKeyDictionary = WeakKeyDictionary()


def _insert_plan(db, model: type[Model]) -> _InsertPlan:
    plans = _insert_plans.setdefault(db, {})
    plan = plans.get(model)
    if plan is None:
        if not db.features.can_return_rows_from_bulk_insert:
            raise NotImplementedError(f"{db.vendor} cannot return the keys of inserted rows.")
        meta = model._meta
        fields = [f for f in meta.concrete_fields if f is not meta.pk and not f.generated]
        for field in fields:
            if field.db_default is not NOT_PROVIDED:
                raise NotImplementedError(f"insert() cannot fill {field} from its db_default.")
        quote = db.ops.quote_name
        key_column = meta.pk.get_col(meta.db_table)
        plan = plans[model] = _InsertPlan(
            model=model,
            fields=fields,
            relations=[field for field in fields if field.is_relation],
            into=(  # names from the model's meta only, quoted
                f"INSERT INTO {quote(meta.db_table)} "
                f"({', '.join(quote(field.column) for field in fields)}) "
            ),
            row=f"({', '.join(['%s'] * len(fields))})",
            unnest=_unnest(db, fields),
            tail=f" RETURNING {quote(meta.pk.column)}",
            key_column=key_column,
            key_converters=_converters(db, key_column),
        )
    return plan


def _unnest(db, fields) -> str | None:
    """``SELECT * FROM UNNEST((%s)::type[], …)`` for ``fields`` on PostgreSQL, as Django's own
    bulk insert builds it there, or None where it would not (see its ``assemble_as_sql``)."""
    if db.vendor != "postgresql" or any(
        hasattr(field, "get_placeholder")
        or (field.target_field if field.is_relation else field).get_internal_type()
        not in db.data_types
        for field in fields
    ):
        return None
    # Types without their parameters, so that no value is cut (varchar[], not varchar(50)[]).
    arrays = [f"(%s)::{field.db_type(db).split('(')[0]}[]" for field in fields]
    return f"SELECT * FROM UNNEST({', '.join(arrays)})"  # noqa: S608 - types from the model


class _Together:
    """Run statements in order, in one round trip where the database allows (see
    :func:`read_all`); gives their cursors, to read rows from, and closes them on leaving."""

    def __init__(self, db, statements: list[tuple[str, list]]):
        self.db = db
        self.statements = statements
        self.cursors: list = []

    def __enter__(self) -> list:
        db = self.db
        db.close_if_health_check_failed()  # what db.cursor() does first
        db.ensure_connection()
        plain = _plain_cursors(db)
        if plain:
            db.validate_no_broken_transaction()  # what Django's cursor checks per statement
            if sql_wire.usable(db):
                with db.wrap_database_errors:  # psycopg's errors raised as Django's
                    self.cursors = sql_wire.run(db, self.statements)
                return self.cursors
        try:
            # One statement alone is cheaper sent plainly: a pipeline adds a sync message and
            # three waits on the socket for the one response.
            together = len(self.statements) > 1 and _pipelines(db)
            pipeline = db.connection.pipeline() if together else nullcontext()
            # Errors of a pipeline arrive when it ends: raised as Django's, as a cursor's are.
            with db.wrap_database_errors, pipeline:
                for text, params in self.statements:
                    self.cursors.append(db.create_cursor() if plain else db.cursor())
                    self.cursors[-1].execute(text, params)
        except BaseException:
            self.__exit__()
            raise
        return self.cursors

    def __exit__(self, *_exc) -> None:
        for cursor in self.cursors:
            cursor.close()


def _database():
    """The default connection's wrapper: ``django.db.connection`` is a proxy that looks the
    wrapper up again (a thread-local read) for every attribute used, dozens a statement."""
    return connections[DEFAULT_DB_ALIAS]


def _plain_cursors(db) -> bool:
    """Whether to run statements on the driver's cursors, as Django's backend makes them,
    without Django's wrapper around each: on PostgreSQL, unless something watches the
    queries (query logging, as with DEBUG or in tests that count queries, or an
    ``execute_wrapper``), which then sees them through Django's cursor as before. The
    wrapper's per-statement checks are made here once for all the statements (the
    transaction is not broken) and around them (errors raised as Django's); what it costs
    is about a twelfth of a single progress request's CPU (docs/decisions/0014).
    Elsewhere, the backend's own cursor wrapper is needed (SQLite's turns ``%s`` into
    ``?``)."""
    return db.vendor == "postgresql" and not (db.queries_logged or db.execute_wrappers)


def _pipelines(db) -> bool:
    """Whether statements can share a round trip: PostgreSQL through a libpq of version 14
    or later (psycopg's binary package brings its own)."""
    return db.vendor == "postgresql" and sql_wire.pipelines_supported()


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


def _row_plan(db, model: type[Model], names: tuple[str, ...]) -> _RowPlan:
    plans = _row_plans.setdefault(db, {})
    plan = plans.get((model, names))
    if plan is None:
        position = {name: index for index, name in enumerate(names)}
        fields = model._meta.concrete_fields
        try:
            positions = [position[field.column] for field in fields]
        except KeyError as missing:
            raise ValueError(f"The read selects no column {missing} of {model.__name__}.") from None
        columns = [field.get_col(model._meta.db_table) for field in fields]
        converters = [(index, _converters(db, column)) for index, column in enumerate(columns)]
        taken = set(positions)
        plan = plans[model, names] = _RowPlan(
            positions=positions,
            attnames=[field.attname for field in fields],
            converters=[(index, funcs, columns[index]) for index, funcs in converters if funcs],
            extra=[(name, index) for name, index in position.items() if index not in taken],
        )
    return plan


def _instances(db, model: type[Model], cursor) -> list[Model]:
    """The cursor's rows as instances of ``model``, each value converted as the ORM would."""
    plan = _row_plan(db, model, tuple(column[0] for column in cursor.description))
    instances = []
    for row in cursor.fetchall():
        values = [row[index] for index in plan.positions]
        for index, funcs, column in plan.converters:
            for func in funcs:
                values[index] = func(values[index], column, db)
        instance = model.from_db(db.alias, plan.attnames, values)
        for name, index in plan.extra:
            setattr(instance, name, row[index])
        instances.append(instance)
    return instances


def converted(model: type[Model], field: str, value):
    """``value`` of ``model.field`` read through a cursor (a plain row), converted as the ORM
    converts it: SQLite gives dates as text, for instance."""
    db = _database()
    column = model._meta.get_field(field).get_col(model._meta.db_table)
    for func in _converters(db, column):
        value = func(value, column, db)
    return value


def _converters(db, column) -> list:
    """Django's converters for a column read on ``db`` (its backend's, then its field's)."""
    return db.ops.get_db_converters(column) + column.get_db_converters(db)


def prepared(model: type[Model], field: str, values) -> list:
    """``values`` as ``model.field`` stores them (a UUID is text on SQLite, for instance)."""
    db = _database()
    model_field = model._meta.get_field(field)
    return [model_field.get_db_prep_value(value, db) for value in values]


def _any_of(db, values: list) -> tuple[str, list]:
    if not values:
        raise ValueError("A match needs at least one value.")
    if len(values) == 1:
        # PostgreSQL would plan a prepared ``= ANY($1)`` afresh on every run (its generic plan
        # looks dearer than one made for a one-element array); ``= $1`` keeps its plan.
        return "= %s", values
    if db.vendor == "postgresql":
        return "= ANY(%s)", [values]
    return f"IN ({', '.join(['%s'] * len(values))})", values


def _lock_clause(db, lock: Lock) -> str:
    features = db.features
    if not features.has_select_for_update:
        return ""
    if lock is Lock.NO_KEY_UPDATE and not features.has_select_for_no_key_update:
        return Lock.UPDATE.value
    return lock.value
