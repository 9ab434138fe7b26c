"""Django's Redis cache, with one client object per connection pool instead of one per call.

Stock ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every operation, and
building one (it copies ~170 response callbacks) cost more CPU than the Redis command itself on
the ingest path, where django-ratelimit makes four cache calls per request.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient
