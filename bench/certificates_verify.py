"""Benchmark: verifying certificates by code through the JSON API, under gunicorn.

Run:  make bench-verify      (PostgreSQL at DATABASE_URL, Redis at CACHE_URL; needs ``wrk``:
                              ``apt-get install wrk``, else a slower Python client is used)

Sets up a fresh PostgreSQL database (``bench_certificates_verify``) with N issued
certificates (BENCH_CERTIFICATES=500), starts gunicorn as production runs it
(:mod:`bench.settings`: DEBUG off, persistent database connections, the cache — and so the
rate limiter — on Redis; BENCH_CACHE=locmem for the per-process memory cache; ``--preload``,
2 sync workers as on this 2-core machine, BENCH_WORKERS and BENCH_THREADS to try others),
with the verification rate limit raised (all the load comes from one address; the limiter
still runs). With Redis, a verification is one round trip to it (rate limit, the
certificate's cached facts, the count: ``certificates.verification_cache``) and no query;
a certificate's first verification reads the database, and is timed by itself, one request
at a time, before the certificates' facts are all in the cache. Then it measures with 8
connections, in rounds that alternate:

- ``GET /api/v1/verify/<code>`` over all the codes, each connection on a different one:
  requests per second, p50 and p99 latency. Targets: at least 800 requests/s, p99 under
  20 ms. Each verification is counted: the counts (kept in Redis, then moved into the
  database as the beat task does) are checked against the requests made.
- baselines in the same run: a trivial Django view through the same middleware
  (``/credentials/keys/``: a small JSON document, no database), and gunicorn serving the same
  verification JSON from a bare WSGI function (the ceiling of the server and client).

Everything runs on 127.0.0.1 and every loop is bounded; the database is removed at the end.

Last figures (2 cores that other work shares, so they vary from run to run: compare with the
trivial view of the same run). Before the Redis path (a query and an UPDATE per
verification, django-ratelimit's three cache calls): 185 requests/s, p99 64 ms, 0.15x the
trivial view (1,260/s), load average 3.2. With it: 1,651 requests/s, p50 4.8 ms, p99 10.3 ms,
0.83x the trivial view (1,986/s), load average 2.3; at a busier moment 612/s, p99 26 ms,
0.59x (1,041/s), load average 3.5. A certificate's first verification (not yet cached),
one request at a time: 3.3 ms; the next 1.3-1.7 ms.
"""

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402 - after the path is set

CERTIFICATES = int(os.environ.get("BENCH_CERTIFICATES", "500"))
CONNECTIONS = 8
ROUNDS = 2
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
TARGET_RATE = 800
TARGET_P99_MS = 20


def static_json(environ, start_response):
    """The baseline server: the verification JSON, given in the environment, as is."""
    body = os.environ["BENCH_STATIC_BODY"].encode()
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(app: str, env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--workers",
            str(WORKERS),
            *(["--worker-class", "gthread", "--threads", str(THREADS)] if THREADS > 1 else []),
            "--preload",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn ({app}) did not start.")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# --- Load ---------------------------------------------------------------------------------------

# Each wrk thread starts at its own place in the list, so that connections ask for different
# certificates at a time (as verifiers scanning different QR codes do).
WRK_SCRIPT = """
paths = {paths}
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("counter", threads * 7919)
end
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""


def load(base: str, paths: list[str], workdir: Path, seconds: int = SECONDS) -> dict:
    """``CONNECTIONS`` clients for ``seconds``: requests, errors, rate, p50 and p99 (ms)."""
    if wrk.available():
        script = WRK_SCRIPT.format(paths=json.dumps(paths).replace("[", "{", 1)[:-1] + "}")
        return wrk.run(base, script, workdir=workdir, connections=CONNECTIONS, seconds=seconds)
    return _python_load(base, paths, seconds)


def _python_load(base: str, paths: list[str], seconds: int) -> dict:
    """Without wrk: threads with keep-alive-less urllib requests (the client costs more CPU)."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int):
        nonlocal errors
        index = offset
        while time.monotonic() < deadline:
            start = time.perf_counter()
            status, _ = get(base + paths[index % len(paths)])
            elapsed = time.perf_counter() - start
            index += CONNECTIONS
            with lock:
                latencies.append(elapsed * 1000)
                errors += status >= 400

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONNECTIONS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "socket_errors": "",
        "rate": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
    }


def combine(runs: list[dict]) -> dict:
    """Rounds together: total rate; the worst p50 and p99 of any round."""
    return {
        "requests": sum(run["requests"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
        "rate": statistics.mean(run["rate"] for run in runs),
        "p50": max(run["p50"] for run in runs),
        "p99": max(run["p99"] for run in runs),
        "socket_errors": "; ".join(run["socket_errors"] for run in runs if run["socket_errors"]),
    }


# --- Data -----------------------------------------------------------------------------------


def issue_certificates(count: int) -> list[str]:
    """``count`` learners finish the demo course and get certificates; their display codes.

    Rendering (PDF, credential) is left out: verifying by code reads only the record.
    """
    from bench.certificates_issue import setup_data
    from certificates.services import certificate_issue

    course, learners = setup_data(count)
    with mock.patch("certificates.dispatch.render_enqueue"):
        return [
            certificate_issue(learner=learner, course=course).certificate.display_code
            for learner in learners
        ]


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    cache = os.environ.get("BENCH_CACHE", "redis")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from certificates.keys import private_key_text

    settings_env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_DB_NAME": "bench_certificates_verify",
        "CERTIFICATE_VERIFY_RATE": "100000000/m",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
        "CACHE_URL": os.environ.get("CACHE_URL", "redis://127.0.0.1:6379/0")
        if cache == "redis"
        else "",
        "MEDIA_ROOT": str(workdir / "media"),
        "CERTIFICATE_SIGNING_KEY": private_key_text(Ed25519PrivateKey.generate()),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    os.environ.update(settings_env)
    import django

    django.setup()
    from django.db import connection, connections
    from django.db.models import Sum

    from certificates.models import Certificate
    from certificates.services import verification_counts_flush

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    servers = []
    try:
        started = time.perf_counter()
        codes = issue_certificates(CERTIFICATES)
        print(f"Issued {len(codes)} certificates in {time.perf_counter() - started:.1f} s")
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        }
        connections.close_all()

        django_server, base = start_gunicorn("lms.wsgi", env)
        servers.append(django_server)
        status, body = get(f"{base}/api/v1/verify/{codes[0]}", timeout=120)  # workers booting
        if status != 200 or json.loads(body)["status"] != "valid":
            raise SystemExit(f"The verification API answered {status}: {body[:300]!r}")
        static_server, static_base = start_gunicorn(
            "bench.certificates_verify:static_json", {**env, "BENCH_STATIC_BODY": body.decode()}
        )
        servers.append(static_server)
        verify_paths = [f"/api/v1/verify/{code}" for code in codes]
        trivial_paths = ["/credentials/keys/"]
        # Warm every worker: imports, connections, the caches each process keeps (with up to
        # half of the codes: the others are timed below at their first verification).
        warm = max(1, min(50, len(verify_paths) // 2))
        for url_base, paths in ((base, verify_paths), (base, trivial_paths), (static_base, ["/"])):
            if load(url_base, paths[:warm], workdir, seconds=2)["errors"]:
                raise SystemExit(f"Errors while warming up {url_base}{paths[0]}.")
        # And the cache of certificate facts: a certificate's first verification reads the
        # database. Timed here one request at a time (a new connection each), and again.
        one_at_a_time = {"first": [], "again": []}
        for label in one_at_a_time:
            for path in verify_paths[warm:]:
                started = time.perf_counter()
                status, _ = get(base + path)
                one_at_a_time[label].append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise SystemExit(f"The verification API answered {status} for {path}.")
        # Counts wait in Redis until the beat task moves them: move them, as it would.
        verification_counts_flush()
        counted_before = Certificate.objects.aggregate(n=Sum("verification_count"))["n"] or 0

        runs = {"verify": [], "trivial": [], "static": []}
        for _round in range(ROUNDS):
            runs["verify"].append(load(base, verify_paths, workdir))
            runs["trivial"].append(load(base, trivial_paths, workdir))
            runs["static"].append(load(static_base, ["/"], workdir))
        results = {name: combine(name_runs) for name, name_runs in runs.items()}
        verification_counts_flush()
        counted = (
            Certificate.objects.aggregate(n=Sum("verification_count"))["n"] or 0
        ) - counted_before

        verify = results["verify"]
        print(
            f"Database: PostgreSQL ({db['NAME']}); gunicorn {WORKERS} "
            f"{f'gthread workers x {THREADS} threads' if THREADS > 1 else 'sync workers'}, "
            "--preload; "
            f"cache and rate limiter: {'Redis' if cache == 'redis' else 'local memory'}; "
            f"{CONNECTIONS} connections, {ROUNDS} rounds of {SECONDS} s; "
            f"client: {'wrk' if wrk.available() else 'Python threads'}; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        for name, label in (
            ("verify", "GET /api/v1/verify/<code>"),
            ("trivial", "baseline: trivial Django view (/credentials/keys/)"),
            ("static", "baseline: gunicorn serving the same JSON"),
        ):
            result = results[name]
            print(
                f"{label}: {result['rate']:,.0f} requests/s, p50 {result['p50']:.1f} ms, "
                f"p99 {result['p99']:.1f} ms; errors {result['errors']}"
                + (f"; socket errors {result['socket_errors']}" if result["socket_errors"] else "")
            )
        print(
            "one request at a time: a certificate's first verification (not yet cached) "
            f"median {statistics.median(one_at_a_time['first']):.1f} ms, "
            f"the next {statistics.median(one_at_a_time['again']):.1f} ms"
        )
        print(
            f"verification is {verify['rate'] / results['trivial']['rate']:.2f}× the trivial "
            f"Django view and {verify['rate'] / results['static']['rate']:.2f}× the static JSON "
            f"(targets: ≥ {TARGET_RATE} requests/s, p99 < {TARGET_P99_MS} ms)"
        )
        print(
            f"verifications counted in the database: {counted:,} for {verify['requests']:,} "
            f"requests completed (wrk does not count the last ones still in flight)"
        )
        return 0 if verify["errors"] == 0 else 1
    finally:
        for server in servers:
            stop(server)
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
