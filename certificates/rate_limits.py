"""Rate limits as sliding windows: never more than the limit in any span of the period.

A counter that starts afresh every period (a fixed window) lets a client spend its whole
allowance at the end of one window and again at the start of the next: twice the limit in
a moment. Here every allowed request is kept in a log with its time and weight (one lookup,
or the number of codes of a bulk request), and a request is allowed only if the weights
logged in the last ``period`` seconds, plus its own, stay within the limit. Refused requests
are not logged. When refused, :attr:`Allowance.retry_after` is the wait until enough of
the log has aged out of the window, which is what ``Retry-After`` tells the client.

The log lives in the default cache, under a key made by the cache's ``make_key``:

- with Redis (:func:`certificates.redis_scripts.redis_client`), as a list and its
  total weight, trimmed, checked and appended by one Lua script (:data:`TAKE_LUA`), so it
  is atomic across processes; :mod:`certificates.verification_cache` runs the same
  function in the script that also reads a certificate's cached facts;
- with any other cache (local memory: the embedded default and the tests), as a list read
  and written while holding a lock taken with ``cache.add`` (atomic in every Django cache).

Every function takes the time as ``now`` (seconds since the epoch, default
``time.time()``), so a test can cross a window's edge without waiting for it.
"""

import functools
import math
import re
import time
from typing import NamedTuple

from django.core.cache import cache, caches
from django.core.exceptions import ImproperlyConfigured

from certificates.app_settings import app_settings
from certificates.redis_scripts import redis_client, script

#: The fixed part of every key (after the cache's prefix).
PREFIX = "certificates:rate"
#: How long a lock on one log may be held (it expires by itself if its holder dies).
LOCK_SECONDS = 2
#: How long to sleep between two tries to take a held lock.
LOCK_POLL_SECONDS = 0.002

#: A Lua function: take(log key, total key, now ms, period ms, limit, weight, entry).
#: Drops the entries older than the period from the head of the log, then appends
#: ``entry`` ("<ms>:<weight>") if the total stays within the limit. Returns {1, 0} when
#: allowed, {0, ms to wait} when not.
TAKE_LUA = """
local function take(log_key, total_key, now, period, limit, weight, entry)
  local total = tonumber(redis.call('GET', total_key) or '0')
  local oldest = redis.call('LINDEX', log_key, 0)
  while oldest do
    local sep = string.find(oldest, ':', 1, true)
    if tonumber(string.sub(oldest, 1, sep - 1)) > now - period then break end
    redis.call('LPOP', log_key)
    total = total - tonumber(string.sub(oldest, sep + 1))
    oldest = redis.call('LINDEX', log_key, 0)
  end
  if not oldest then total = 0 end
  if total + weight > limit then
    local need, freed, wait = total + weight - limit, 0, period
    -- every entry weighs at least 1: the first `need` entries free enough
    for _, logged in ipairs(redis.call('LRANGE', log_key, 0, need - 1)) do
      local sep = string.find(logged, ':', 1, true)
      freed = freed + tonumber(string.sub(logged, sep + 1))
      if freed >= need then
        wait = tonumber(string.sub(logged, 1, sep - 1)) + period - now
        break
      end
    end
    redis.call('SET', total_key, total, 'PX', period)
    return {0, wait}
  end
  redis.call('RPUSH', log_key, entry)
  redis.call('PEXPIRE', log_key, period)
  redis.call('SET', total_key, total + weight, 'PX', period)
  return {1, 0}
end
"""

_TAKE_ALONE_LUA = (
    TAKE_LUA
    + """
return take(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
            tonumber(ARGV[4]), ARGV[5])
"""
)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Allowance(NamedTuple):
    allowed: bool
    retry_after: int = 0  # when refused: whole seconds until the request would be allowed


@functools.lru_cache
def rate_parse(text: str, *, setting: str) -> tuple[int, int]:
    """(requests allowed, period in seconds) from text like "60/m" or "100/5m".

    s, m, h and d are the units. ``setting`` names where the text came from, for the error.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*", text)
    if match is None or int(match[1]) == 0:
        raise ImproperlyConfigured(f"{setting} must read like 60/m or 100/5m, not {text!r}.")
    return int(match[1]), int(match[2] or 1) * _PERIODS[match[3]]


def _names(name: str, limit: int, period: int) -> tuple[str, str]:
    # The rate is part of the names: a changed setting starts every client afresh.
    base = f"{PREFIX}:{limit}/{period}s:{name}"
    return f"{base}:log", f"{base}:total"


def keys(name: str, limit: int, period: int) -> list[str]:
    """The Redis keys of the log and of its total (made by the cache's ``make_key``)."""
    make_key = caches["default"].make_key
    return [make_key(key) for key in _names(name, limit, period)]


def take_args(*, limit: int, period: int, weight: int, now: float | None) -> list:
    """The ARGV of :data:`TAKE_LUA` after the keys: now, period, limit, weight, entry."""
    now_ms = int((time.time() if now is None else now) * 1000)
    return [now_ms, period * 1000, limit, weight, f"{now_ms}:{weight}"]


def allowance_of(allowed, wait_ms) -> Allowance:
    """An :class:`Allowance` from what :data:`TAKE_LUA` returned."""
    if int(allowed):
        return Allowance(True)
    return Allowance(False, max(1, math.ceil(int(wait_ms) / 1000)))


def take(
    *, name: str, limit: int, period: int, weight: int = 1, now: float | None = None
) -> Allowance:
    """Log a request of ``weight`` under ``name`` if ``limit`` allows it in ``period``.

    ``weight`` must not exceed ``limit`` (such a request could never be allowed: refuse it
    as too large instead).
    """
    connection = redis_client()
    args = take_args(limit=limit, period=period, weight=weight, now=now)
    if connection is not None:
        found = script(connection, _TAKE_ALONE_LUA)(keys=keys(name, limit, period), args=args)
        return allowance_of(*found)
    log_name, _total = _names(name, limit, period)
    return _take_locked(log_name, now_ms=args[0], period=period, limit=limit, weight=weight)


def _take_locked(key: str, *, now_ms: int, period: int, limit: int, weight: int) -> Allowance:
    """:data:`TAKE_LUA` on a cache without scripts: the log is a list of (ms, weight)."""
    lock = f"{key}:lock"
    while not cache.add(lock, True, LOCK_SECONDS):
        time.sleep(LOCK_POLL_SECONDS)
    try:
        period_ms = period * 1000
        log = [entry for entry in cache.get(key, ()) if entry[0] > now_ms - period_ms]
        total = sum(logged for _at, logged in log)
        if total + weight > limit:
            need, freed, wait_ms = total + weight - limit, 0, period_ms
            for at, logged in log:
                freed += logged
                if freed >= need:
                    wait_ms = at + period_ms - now_ms
                    break
            cache.set(key, log, period + 1)
            return allowance_of(False, wait_ms)
        log.append((now_ms, weight))
        cache.set(key, log, period + 1)
        return Allowance(True)
    finally:
        cache.delete(lock)


# --- Bulk verification ----------------------------------------------------------------------


def bulk_rate() -> tuple[int, int]:
    """(codes allowed, period in seconds) per API key or person for bulk verification, from
    ``app_settings.BULK_VERIFY_RATE``."""
    return rate_parse(app_settings.BULK_VERIFY_RATE, setting="CERTIFICATE_BULK_VERIFY_RATE")


def bulk_codes_allowed(*, verifier: str, codes: int, now: float | None = None) -> Allowance:
    """Log a bulk verification of ``codes`` codes by ``verifier`` if its allowance has room.

    ``verifier`` names who is counted ("key:<id>", "user:<id>"); ``now`` as for :func:`take`.
    """
    limit, period = bulk_rate()
    return take(name=f"bulk:{verifier}", limit=limit, period=period, weight=codes, now=now)
