"""Pieces for the few reads written as SQL by hand, through Django's public raw-SQL doors.

The progress path (one request an event or an xAPI statement) spends most of its time in
Django building queries, not in the database: a read the ORM builds costs several times
what the same SQL costs through ``connection.cursor()`` or ``Model.objects.raw()``. Its
hot reads are therefore SQL templates (see docs/decisions/0019-the-progress-path.md),
written for both databases the project runs on (SQLite and PostgreSQL), with values always
passed as parameters, never formatted in.
"""

from django.contrib.auth import get_user_model
from django.db import connection


def placeholders(values) -> str:
    """``%s, %s, …``, one a value, for ``IN (…)`` (at least one: ``IN ()`` is not SQL)."""
    return ", ".join(["%s"] * max(len(values), 1))


def lock_clause(*, no_key: bool = False) -> str:
    """The row-lock clause the database has (none on SQLite, which locks whole anyway).

    ``no_key``: ``FOR NO KEY UPDATE`` where there is one, which does not block inserts of
    rows that refer to the locked row."""
    if not connection.features.has_select_for_update:
        return ""
    if no_key and connection.features.has_select_for_no_key_update:
        return " FOR NO KEY UPDATE"
    return " FOR UPDATE"


def column_values(model, field_name: str, values) -> list:
    """``values`` of a field as the database stores them (a UUID is text on SQLite), through
    the field's public ``get_db_prep_value``."""
    field = model._meta.get_field(field_name)
    return [field.get_db_prep_value(value, connection) for value in values]


def user_table() -> tuple[str, str]:
    """The host site's user model's table and primary-key column, quoted for SQL."""
    users = get_user_model()._meta
    return connection.ops.quote_name(users.db_table), connection.ops.quote_name(users.pk.column)
