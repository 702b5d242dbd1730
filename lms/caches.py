"""Copies of rarely changing data, kept by each process.

The progress path reads things that change far less often than events arrive (a course's
structure, an institution's webhooks, the published frameworks). Each process keeps what it
read under a generation token in the shared cache; whatever changes the data calls
``changed()``, which replaces the token when its transaction commits, so every process reads
the data again on next use. The receivers that call ``changed()`` on a model's save or
delete are in each app's ``signals.py``.
"""

import threading
import time
import uuid

from django.core.cache import cache
from django.db import transaction

from lms.app_settings import app_settings


def cache_is_shared() -> bool:
    """Whether the Django cache is one all processes share (Redis), not one per process."""
    backend = app_settings.CACHE_BACKEND
    return not backend.endswith(("LocMemCache", "DummyCache"))


def progress_caches_enabled() -> bool:
    """``settings.PROGRESS_CACHES`` if set; otherwise on with a cache all processes share
    (Redis) and off with a per-process one, through which a change made in another process
    could not be told."""
    configured = app_settings.PROGRESS_CACHES
    return cache_is_shared() if configured is None else configured


class CacheGeneration:
    """A token in the Django cache naming the current state of some data, and this process's
    copy of what it read of that state.

    :meth:`memo` gives the copy (a dict the reader fills as it reads) for the current token,
    or a new empty one when nothing may be kept: caches are off, or this thread's transaction
    holds a change of the data not committed yet (it must read its own change, and what it
    read must not outlive a rollback). :meth:`changed` is called on every change of the data
    (by signal receivers, and by services that write without signals); the token is replaced
    when the change commits, and this process's copy is dropped at once. A copy is also
    dropped after :data:`MAX_AGE` seconds, in case a process died between a commit and its
    new token, and started afresh once it holds :data:`MAX_ENTRIES` entries (clients choose
    what is looked up, such as activity IRIs). A request reads the tokens of every generation
    once, in one round trip, and another process's change is seen from its next request
    (docs/decisions/0019).
    """

    MAX_AGE = 600
    MAX_ENTRIES = 20_000
    #: Every generation, so that a request reads all their tokens in one round trip.
    instances: list["CacheGeneration"] = []

    def __init__(self, name: str):
        self.key = f"generation:{name}"
        self._copy: tuple[str, float, dict] | None = None
        CacheGeneration.instances.append(self)

        def cache_generation_bump():  # named: Django logs robust on-commit failures by name
            cache.set(self.key, uuid.uuid4().hex, timeout=None)
            self._copy = None

        self._bump = cache_generation_bump

    def changed(self) -> None:
        if not progress_caches_enabled():
            return
        if not self._pending():
            transaction.on_commit(self._bump, robust=True)  # at once outside a transaction

    def memo(self) -> dict:
        if not progress_caches_enabled() or self._pending():
            return {}
        token = self._token()
        copy, now = self._copy, time.monotonic()
        if (
            copy is None
            or copy[0] != token
            or now - copy[1] > self.MAX_AGE
            or len(copy[2]) >= self.MAX_ENTRIES
        ):
            copy = self._copy = (token, now, {})
        return copy[2]

    def _token(self) -> str:
        """The current token. Within a request, every generation's token is read in one
        round trip on first use and kept until the request ends; outside one, on each use."""
        tokens = _request_tokens()
        if tokens is not None and self.key not in tokens:
            _generation_tokens_read(tokens)
        token = cache.get(self.key) if tokens is None else tokens[self.key]
        if token is None:
            cache.add(self.key, uuid.uuid4().hex, timeout=None)
            token = cache.get(self.key)
            if tokens is not None:
                tokens[self.key] = token
        return token

    def _pending(self) -> bool:
        """Whether this thread's transaction changed the data: its new token awaits commit in
        the connection's on-commit callbacks (which a rollback drops)."""
        connection = transaction.get_connection()
        return connection.in_atomic_block and any(
            func is self._bump for _savepoints, func, _robust in connection.run_on_commit
        )


_request_state = threading.local()


def _request_tokens() -> dict | None:
    """The generation tokens this thread's current request has read, or None outside a
    request (a task, a command, a shell: every use reads the token afresh)."""
    return getattr(_request_state, "generation_tokens", None)


def _generation_tokens_read(tokens: dict, *, also: str | None = None):
    """Read every generation's token into ``tokens`` in one round trip; with ``also``, that
    cache key's value too, which is returned."""
    keys = [generation.key for generation in CacheGeneration.instances]
    found = cache.get_many(keys if also is None else [also, *keys])
    tokens.update({key: found.get(key) for key in keys})
    return found.get(also)


def cache_get_in_request(key: str):
    """``cache.get(key)``; within a request, in the round trip that reads the generation
    tokens, which nearly every API request needs next (see :class:`CacheGeneration`)."""
    tokens = _request_tokens()
    if tokens is None or tokens:
        return cache.get(key)
    return _generation_tokens_read(tokens, also=key)


def request_begins(**kwargs) -> None:
    """A request starts: the generation tokens are read afresh, once, on first use."""
    _request_state.generation_tokens = {}


def request_ends(**kwargs) -> None:
    _request_state.generation_tokens = None


#: The active webhooks of each institution, as each process last read them.
WEBHOOKS = CacheGeneration("webhooks")
