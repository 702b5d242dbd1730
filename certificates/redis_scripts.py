"""The default cache's Redis, for the Lua scripts the cache API cannot run.

:mod:`certificates.rate_limits` and :mod:`certificates.verification_cache` both run scripts
on the Redis that Django's default cache uses, when it is one: one client (and connection
pool) per process and server, made on first use, and each script registered once.

The ``redis`` package is imported on first use: every process imports this module (through
the admin's hooks), and most never run a script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    import redis

#: The cache backends that are Redis: Django's own.
REDIS_CACHES = frozenset({"django.core.cache.backends.redis.RedisCache"})

_clients: dict[str, redis.Redis] = {}
_scripts: dict[tuple[int, str], object] = {}


def redis_client() -> redis.Redis | None:
    """The process's client of the default cache's Redis, or None if that cache is not Redis."""
    config = settings.CACHES["default"]
    if config["BACKEND"] not in REDIS_CACHES:
        return None
    location = config["LOCATION"]
    server = (location.replace(";", ",").split(",") if isinstance(location, str) else location)[0]
    client = _clients.get(server)
    if client is None:
        import redis

        options = {
            name: value
            for name, value in config.get("OPTIONS", {}).items()
            if name not in {"pool_class", "parser_class", "serializer"}
        }
        client = _clients[server] = redis.Redis.from_url(server, **options)
    return client


def script(connection: redis.Redis, source: str):
    """A registered script (EVALSHA, loaded on first use), one per client and source."""
    key = (id(connection), source)
    if key not in _scripts:
        _scripts[key] = connection.register_script(source)
    return _scripts[key]
