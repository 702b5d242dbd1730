"""What verifying by code keeps in Redis: the public facts, the counts, the rate limit.

Verifying a code is the one public, anonymous, high-volume read of the service. Reading the
certificate from PostgreSQL and counting the verification with an UPDATE (a commit, so a WAL
flush) would cost far more than Django itself per request (docs/performance.md has the
figures). When the default cache is Django's Redis cache, which all processes share, a
verification by code instead takes one round trip to Redis (one Lua script, so it is
atomic), and no query unless the certificate's facts are not kept yet:

- the client's **rate limit** (``app_settings.VERIFY_RATE``): a sliding window, the
  log of the client's lookups in the last period (:mod:`certificates.rate_limits`);
- the certificate's **public facts** (:func:`certificates.selectors.verification_facts`),
  kept under the code for ``app_settings.VERIFY_CACHE_SECONDS``; whether it has
  expired is decided at read time from its dates, so no clearing is needed for that;
- the **count**: one more in a hash of pending counts, which a Celery beat task moves into
  ``Certificate.verification_count`` (:mod:`certificates.verification_counts`).

Keeping the cached facts true: every service that changes them calls :func:`facts_forget`
at once and again on commit, which drops the code's facts and bumps the code's
*generation*. A lookup that misses reads the generation in the same round trip, then the
certificate from the database (no lock, no transaction), and keeps what it read only if the
generation is still the same. So a lookup that read the certificate before a revocation
committed can never leave the old facts behind it: either its facts go in before the
revocation's clearing on commit (which drops them), or they are refused after. Only in the
moment between a change's commit and its clearing can a lookup still get the facts from
before. Writes that bypass the services (a shell, a data migration) show within the cache
time.

With a per-process cache (local memory: the embedded default and the tests) nothing here is
used but the rate limit: another process could not hear of a revocation, and a count kept in
a web process's memory would not reach the beat task. Facts are then read from the database
and counts written to it at once, as before.

Keys are made by the cache's ``make_key`` (its prefix and version), so they live beside the
cache's own; ``cache.clear()`` (FLUSHDB) would drop counts not yet moved to the database.
"""

import ipaddress
import json
import logging
from typing import NamedTuple

from django.core.cache import caches

from certificates import rate_limits
from certificates.app_settings import app_settings
from certificates.rate_limits import Allowance
from certificates.redis_scripts import redis_client, script

logger = logging.getLogger(__name__)

#: The fixed part of every key (after the cache's prefix).
PREFIX = "certificates:verify"
#: The hash of verifications counted and not yet in the database, by certificate id; and
#: the batch a flush is moving into the database.
PENDING = "counts:pending"
FLUSHING = "counts:flushing"

#: How long a code's generation is kept after its last change: far longer than a lookup.
GENERATION_SECONDS = 86400

#: How long a flush may hold the flush lock before another may take over.
FLUSH_LOCK_SECONDS = 300

#: KEYS: the client's rate log and its total (certificates.rate_limits), the code's facts,
#: the pending counts and the code's generation. ARGV: those of rate_limits.TAKE_LUA.
#: Returns [1, 0, certificate id, facts JSON, generation] when the lookup is allowed: the id
#: and facts on a hit (the verification is counted then), else nil and the generation as it
#: was when the facts were missed (nil if it never changed); [0, ms to wait] when not.
_VERIFY_LUA = (
    rate_limits.TAKE_LUA
    + """
local verdict = take(KEYS[1], KEYS[2], tonumber(ARGV[1]), tonumber(ARGV[2]),
                     tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5])
if verdict[1] == 0 then return verdict end
local found = redis.call('HMGET', KEYS[3], 'id', 'facts')
if found[1] then
  redis.call('HINCRBY', KEYS[4], found[1], 1)
  return {1, 0, found[1], found[2]}
end
return {1, 0, false, false, redis.call('GET', KEYS[5])}
"""
)

#: KEYS: the code's facts, its generation, the pending counts. ARGV: the generation the
#: lookup saw ('' for none), the certificate id, the facts JSON, the seconds to keep them.
#: Keeps the facts only if the generation has not moved since; counts the verification.
_KEEP_LUA = """
if tonumber(ARGV[4]) > 0 and (redis.call('GET', KEYS[2]) or '') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'id', ARGV[2], 'facts', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
"""

#: KEYS: the pending counts, the batch being flushed. Takes the pending counts as the batch
#: (a rename: verifications counted from then on start a new pending hash), unless a batch
#: is left over from a flush that died before finishing; returns the batch, flat.
_TAKE_LUA = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[2])
end
return redis.call('HGETALL', KEYS[2])
"""


def facts_seconds() -> int:
    return app_settings.VERIFY_CACHE_SECONDS


def _keys(*names: str) -> list[str]:
    make_key = caches["default"].make_key
    return [make_key(f"{PREFIX}:{name}") for name in names]


def _key(name: str) -> str:
    return _keys(name)[0]


def _facts_name(code: str) -> str:
    return f"facts:{code}"


def _generation_name(code: str) -> str:
    return f"generation:{code}"


def _client_name(client: str) -> str:
    return f"verify:{client}"


# --- Rate limit -------------------------------------------------------------------------------


def rate() -> tuple[int, int]:
    """(lookups allowed, period in seconds) from ``app_settings.VERIFY_RATE``.

    "60/m" is 60 a minute, "100/5m" 100 in five minutes; s, m, h and d are the units. No
    span of the period ever holds more lookups of one client than that.
    """
    return rate_limits.rate_parse(app_settings.VERIFY_RATE, setting="CERTIFICATE_VERIFY_RATE")


def client_of(request) -> str:
    """Whom the limit counts: the address (an IPv6 /64 is one client, as ISPs hand out).

    Behind a reverse proxy, ``app_settings.CLIENT_IP_META_KEY`` names the request header
    the proxy sets (e.g. ``HTTP_X_FORWARDED_FOR``); of a list, the last address is the one
    the proxy added (the others are whatever the client claimed).
    """
    address = (request.META.get(app_settings.CLIENT_IP_META_KEY) or "").split(",")[-1].strip()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


def lookup_allowed(*, client: str, now: float | None = None) -> Allowance:
    """Log one lookup by ``client`` if its allowance has room (see :func:`rate`).

    ``now``: the time, in seconds since the epoch (default: the clock's).
    """
    limit, period = rate()
    return rate_limits.take(name=_client_name(client), limit=limit, period=period, now=now)


# --- Verifying a code in one round trip -----------------------------------------------------


class Lookup(NamedTuple):
    allowance: Allowance  # whether the client's allowance had room for this lookup
    certificate_id: int | None = None  # on a hit
    facts: dict | None = None  # on a hit
    generation: str = ""  # on a miss: for :func:`facts_keep`


def verify(*, client: str, code: str, now: float | None = None) -> Lookup:
    """Log the client's lookup and, if allowed, fetch and count the code's cached facts.

    Redis only (see :func:`redis_client`); one round trip. ``now`` as for
    :func:`lookup_allowed`.
    """
    limit, period = rate()
    allowed, wait, *found = script(redis_client(), _VERIFY_LUA)(
        keys=[
            *rate_limits.keys(_client_name(client), limit, period),
            *_keys(_facts_name(code), PENDING, _generation_name(code)),
        ],
        args=rate_limits.take_args(limit=limit, period=period, weight=1, now=now),
    )
    allowance = rate_limits.allowance_of(allowed, wait)
    if not found:
        return Lookup(allowance)
    certificate_id, facts, *generation = found
    if certificate_id is None:
        return Lookup(allowance, generation=(generation[0] or b"").decode())
    return Lookup(allowance, int(certificate_id), json.loads(facts))


def facts_keep(*, code: str, certificate_id: int, facts: dict, generation: str) -> None:
    """Count a verification the cache missed, and keep the facts read from the database
    unless they changed since the lookup (``generation``, from :func:`verify`)."""
    script(redis_client(), _KEEP_LUA)(
        keys=_keys(_facts_name(code), _generation_name(code), PENDING),
        args=[generation, certificate_id, json.dumps(facts), facts_seconds()],
    )


def facts_forget(*, codes: list[str]) -> None:
    """The certificates' facts changed: drop what is kept, and refuse what lookups under way
    read before (a new generation)."""
    connection = redis_client()
    if connection is None or not codes:
        return
    pipeline = connection.pipeline(transaction=True)
    for code in codes:
        facts_key, generation_key = _keys(_facts_name(code), _generation_name(code))
        pipeline.delete(facts_key)
        pipeline.incr(generation_key)
        pipeline.expire(generation_key, GENERATION_SECONDS)
    pipeline.execute()


# --- Counts ---------------------------------------------------------------------------------


def counts_add(*, certificate_ids: list[int]) -> None:
    """One more verification of each certificate, pending (Redis only)."""
    pipeline = redis_client().pipeline(transaction=False)
    key = _key(PENDING)
    for certificate_id in certificate_ids:
        pipeline.hincrby(key, str(certificate_id), 1)
    pipeline.execute()


def counts_pending(*, certificate_ids: list[int]) -> dict[int, int]:
    """Verifications not yet in the database, by certificate (being flushed ones included)."""
    connection = redis_client()
    if connection is None or not certificate_ids:
        return {}
    fields = [str(certificate_id) for certificate_id in certificate_ids]
    pending_key, flushing_key = _keys(PENDING, FLUSHING)
    pipeline = connection.pipeline(transaction=True)
    pipeline.hmget(pending_key, fields)
    pipeline.hmget(flushing_key, fields)
    pending, flushing = pipeline.execute()
    return {
        certificate_id: int(waiting or 0) + int(moving or 0)
        for certificate_id, waiting, moving in zip(certificate_ids, pending, flushing, strict=True)
    }


def counts_lock():
    """The lock one flush holds at a time (None if it is held): two would add a batch twice."""
    lock = redis_client().lock(_key("counts:lock"), timeout=FLUSH_LOCK_SECONDS, blocking=False)
    return lock if lock.acquire() else None


def counts_unlock(lock) -> None:
    import redis  # as in redis_scripts: only where Redis is used

    try:
        lock.release()
    except redis.exceptions.LockError:
        logger.warning("A flush of verification counts outlived its lock.")


def counts_take() -> dict[int, int]:
    """The batch to move into the database: the pending counts, or a batch left over."""
    flat = script(redis_client(), _TAKE_LUA)(keys=_keys(PENDING, FLUSHING))
    return {int(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def counts_taken_done() -> None:
    """The batch is in the database: drop it."""
    redis_client().delete(_key(FLUSHING))
