"""Settings for the benchmarks: production's, served over plain HTTP on the loopback.

What production runs (``lms.settings.production``: DEBUG off, persistent database
connections with health checks, the shared cache at CACHE_URL — here the local Redis unless
CACHE_URL says otherwise), minus what a bench on 127.0.0.1 cannot have: HTTPS (no redirect,
no secure cookies) and a real secret key. The benchmarks create their own database
(``BENCH_DB_NAME``, by default ``test_bench``), never the test suite's.
"""

import os

os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-in-production")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# Production shares one Redis cache between its workers (API keys are cached there).
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/0")

from lms.settings.production import *  # noqa: E402,F403

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("BENCH_DB_NAME", "test_bench")}  # noqa: F405
