"""lms.sql's statements sent to PostgreSQL through libpq itself, in one round trip.

psycopg's cursors and its pipeline are written in Python around libpq: per statement and
per round trip they run dozens of generator steps, waits and checks. For the few small
statements of a single progress request that machinery cost more of the client's CPU than
the round trips it saves (docs/decisions/0015): two reads through a pipeline took more CPU
than the same two one after the other. Here the statements go through the same connection's
libpq handle (psycopg's ``pq`` layer, in C in its binary package) in pipeline mode, the way
psycopg's pipeline sends them, with psycopg's own adapters for the values and the rows, so a
value is sent and a row read exactly as a psycopg cursor on that connection sends and reads
them.

What a cursor would do, this does too:

- the ``BEGIN`` of a transaction that starts with these statements, as psycopg sends it
  (``libpq`` tells whether one is open, so psycopg and this module never disagree);
- parameters are bound by the server, as Django's cursor binds them with
  ``server_side_binding``. A statement is prepared on the server (parsed and planned once
  per connection) when the connection prepares statements (``DATABASE_PREPARED``, see
  :mod:`lms.settings.base`), and sent unnamed otherwise, as through a pooler that loses
  prepared statements. Sent unnamed, the single statement request cost PostgreSQL 1 ms more
  CPU: a parse and a plan for each of a dozen statements. The prepared statements are kept
  in psycopg's own register of them (``Connection._prepared``), under the key psycopg gives
  the same query: psycopg deallocates every prepared statement of its connection on a
  rollback (a savepoint's included) and the oldest beyond its ``prepared_max``, and it
  forgets ours with its own, so that a statement of ours is prepared again rather than
  called by a name that no longer exists;
- the first failing statement's error is raised as psycopg raises it (Django's wrapper
  around the caller turns it into Django's); the statements after it are not run.

Values are adapted before anything is sent, so a value that cannot be sent leaves nothing
half-sent. If the round trip itself is interrupted (a lost connection, a signal), the
connection is closed, as its state is then unknown; Django opens a new one.
"""

import select
from functools import lru_cache
from weakref import WeakKeyDictionary

from psycopg import Pipeline, errors, pq
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus, TransactionStatus

_TIMESTAMPTZ_OID = 1184


class Rows:
    """A statement's outcome, read as a cursor is (``fetchall``, ``description``)."""

    __slots__ = ("_rows", "_result")

    def __init__(self, rows: list, result):
        self._rows = rows
        self._result = result

    @property
    def description(self) -> list[tuple[str]]:
        result = self._result
        return [(result.fname(index).decode(),) for index in range(result.nfields)]

    def fetchall(self) -> list:
        return self._rows

    def close(self) -> None:
        pass


class _Connection:
    """What this module keeps per psycopg connection: the transformer that adapts values and
    rows on it, whether it can, and how many statements it prepared."""

    def __init__(self, conn, timezone):
        self.transformer = Transformer(conn)
        self.names = 0  # of the statements prepared so far (see _new_name)
        # Django registers the connection's time zone on each cursor when the connection's
        # own loader disagrees (see its create_cursor); a transformer has no such hook.
        loader = conn.adapters.get_loader(_TIMESTAMPTZ_OID, pq.Format.TEXT)
        self.usable = getattr(loader, "timezone", timezone) == timezone


_connections: WeakKeyDictionary = WeakKeyDictionary()


def _state(db) -> _Connection:
    conn = db.connection
    state = _connections.get(conn)
    if state is None:
        state = _connections[conn] = _Connection(conn, db.timezone)
    return state


def usable(db) -> bool:
    """Whether ``db`` (Django's PostgreSQL connection wrapper, connected) can take statements
    here: libpq has pipeline mode, and no psycopg pipeline is open."""
    return pipelines_supported() and db.connection._pipeline is None and _state(db).usable


@lru_cache(maxsize=1)
def pipelines_supported() -> bool:
    """Whether libpq has pipeline mode (version 14 or later; psycopg's binary package brings
    its own)."""
    return Pipeline.is_supported()


def run(db, statements: list[tuple[str, list]]) -> list[Rows]:
    """Run ``statements`` (text with ``%s`` placeholders, parameters) in order, in one round
    trip; each one's rows. Raises psycopg's error for the first that fails."""
    conn = db.connection
    transformer = _state(db).transformer
    # Every value adapted first: nothing is sent unless all of it can be.
    adapted = []
    for text, params in statements:
        values = transformer.dump_sequence(params, [PyFormat.AUTO] * len(params))
        adapted.append((_numbered(text), values, transformer.types, transformer.formats))
    pgconn = conn.pgconn
    # psycopg's own register of the connection's prepared statements (see the module's
    # docstring): a statement of ours is prepared and kept there, under the key psycopg
    # gives the same query, so either reuses the other's, and when psycopg deallocates them
    # all (on a rollback) or evicts one, ours are forgotten with its own.
    prepared = conn._prepared if conn.prepare_threshold is not None else None
    if prepared is not None and None in prepared._to_flush:
        prepared = None  # a DEALLOCATE ALL psycopg has yet to send: unnamed, this once
    begin = not conn.autocommit and pgconn.transaction_status == TransactionStatus.IDLE
    preparing: list[tuple[int, tuple, bytes]] = []  # (result index, key, name)
    count = 0
    pgconn.enter_pipeline_mode()
    try:
        if begin:
            pgconn.send_query_params(conn._get_tx_start_command(), None)
            count += 1
        for query, values, types, formats in adapted:
            key = (query, types)
            name = prepared._names.get(key) if prepared is not None else None
            if name is not None:
                prepared._names.move_to_end(key)  # used last: evicted last
            elif prepared is not None:
                name = _new_name(conn)
                pgconn.send_prepare(name, query, param_types=types)
                preparing.append((count, key, name))
                count += 1
            if name is None:
                pgconn.send_query_params(query, values, param_types=types, param_formats=formats)
            else:
                pgconn.send_query_prepared(name, values, param_formats=formats)
            count += 1
        pgconn.pipeline_sync()
        _flush(pgconn)
        results = _results(pgconn)
        pgconn.exit_pipeline_mode()
    except BaseException:
        conn.close()  # mid-round-trip: what the server has and has not run is unknown
        raise
    for index, key, name in preparing:
        if results[index].status == ExecStatus.COMMAND_OK:
            prepared._names[key] = name
            prepared._rotate()  # psycopg deallocates the oldest beyond its prepared_max
    for result in results:
        if result.status == ExecStatus.FATAL_ERROR:
            raise errors.error_from_result(result, encoding=conn.info.encoding)
    skipped = {index for index, _key, _name in preparing}
    if begin:
        skipped.add(0)
    found = []
    for index, result in enumerate(results):
        if index in skipped:
            continue
        rows = []
        if result.status == ExecStatus.TUPLES_OK:
            transformer.set_pgresult(result)
            rows = transformer.load_rows(0, result.ntuples, tuple)
        found.append(Rows(rows, result))
    return found


def _new_name(conn) -> bytes:
    """A name for a prepared statement of ours, unique on the connection (psycopg names its
    own ``_pg3_…``)."""
    state = _connections[conn]
    state.names += 1
    return b"_lms_%d" % state.names


def _flush(pgconn) -> None:
    """Send what libpq holds, waiting while the socket is full (libpq reads the server's
    answers meanwhile, so neither side waits for the other for ever)."""
    while pgconn.flush():
        _wait(pgconn.socket, select.POLLIN | select.POLLOUT)


def _results(pgconn) -> list:
    """Every command's result, up to the pipeline's sync."""
    results = []
    while True:
        while pgconn.is_busy():
            _wait(pgconn.socket, select.POLLIN)
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:
            continue  # the end of one command's results
        if result.status == ExecStatus.PIPELINE_SYNC:
            return results
        results.append(result)


def _wait(socket: int, events: int) -> None:
    """Until the socket is ready (``poll``: ``select`` refuses descriptors past 1,023, which a
    process holding many files reaches)."""
    poller = select.poll()
    poller.register(socket, events)
    poller.poll()


@lru_cache(maxsize=1024)
def _numbered(text: str) -> bytes:
    """``text`` with PostgreSQL's ``$1, $2, …`` for its ``%s`` placeholders (``%%`` is a
    percent sign), as psycopg converts a query; any other ``%`` is refused."""
    parts = text.split("%")
    out = [parts[0]]
    number = 0
    index = 1
    while index < len(parts):
        part = parts[index]
        if part.startswith("s"):
            number += 1
            out.append(f"${number}{part[1:]}")
        elif part == "" and index + 1 < len(parts):
            index += 1
            out.append("%" + parts[index])
        else:
            raise ValueError(f"Only %s and %% may follow a percent sign: {text[:200]!r}")
        index += 1
    return "".join(out).encode()
