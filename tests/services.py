"""Reaching the real services (Redis, PostgreSQL). With CI=true a missing one fails the run."""

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("CELERY_BROKER_URL", "")
if not REDIS_URL.startswith("redis://"):
    REDIS_URL = "redis://127.0.0.1:6379/0"


def require_redis() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as error:
        message = f"Redis is not reachable at {REDIS_URL}: {error}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return REDIS_URL


def require_postgresql(why: str = "concurrency is tested on it") -> None:
    """Skip a test that needs PostgreSQL (real commits, row locks, parallel connections) on
    another database; with CI=true, fail it."""
    from django.db import connection

    if connection.vendor != "postgresql":
        message = f"PostgreSQL only: {why} (set DATABASE_URL=postgres://…)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
