"""Faults injected at the database, through Django's documented hook for it.

``connection.execute_wrapper`` (Django's "database instrumentation") sees every statement a
connection runs and may run it or raise instead: here a statement inserting into one table
raises an error after it ran, as a unique clash with a parallel request, or a refusal of
derived state written with it, would. No private function of the project is patched, so the
tests hold whichever functions the services are made of.
"""

import re
from collections.abc import Callable
from contextlib import contextmanager

from django.db import connection

_INSERT = re.compile(r'INSERT INTO "?(?P<table>\w+)"? \((?P<columns>[^)]*)\)')


def inserted_rows(sql: str, params) -> tuple[str, list[dict]] | None:
    """The table an ``INSERT`` writes to and its rows (column -> value), as ``bulk_create``
    sends them on SQLite (``VALUES`` rows) or PostgreSQL (``UNNEST`` of one array a column);
    None for any other statement."""
    found = _INSERT.match(sql.lstrip())
    if found is None:
        return None
    columns = [name.strip().strip('"') for name in found["columns"].split(",")]
    params = list(params or ())
    if "UNNEST" in sql:
        values = list(zip(*params, strict=True))
    else:
        width = len(columns)
        values = [params[i : i + width] for i in range(0, len(params), width)]
    return found["table"], [dict(zip(columns, row, strict=False)) for row in values]


@contextmanager
def failing_inserts(
    table: str,
    error: Exception,
    *,
    times: int,
    when: Callable[[list[dict]], bool] = lambda rows: True,
):
    """Make the first ``times`` inserts into ``table`` whose rows satisfy ``when`` raise
    ``error`` once they ran; yields the list of such inserts so far (True: it failed)."""
    calls: list[bool] = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        found = None if many else inserted_rows(sql, params)
        if found is not None and found[0] == table and when(found[1]):
            calls.append(len(calls) < times)
            if calls[-1]:
                raise error
        return result

    with connection.execute_wrapper(wrapper):
        yield calls
