"""The Redis cache backend, keeping its Redis client instead of building one per call.

Django's ``RedisCacheClient.get_client`` makes a new ``redis.Redis`` for every cache call,
and building one fills a table of several hundred response callbacks: about a tenth of a
single progress event's time went there (profiled: seven cache reads a request). A client
shares its connection pool anyway and is safe across threads; redis-py's pool notices a fork
(gunicorn ``--preload``, Celery prefork) and opens new connections in the child.
"""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
