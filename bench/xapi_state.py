"""Benchmark: the xAPI State resource (content saving and reading its bookmark), under gunicorn.

Run:  make bench-xapi-state      (PostgreSQL at DATABASE_URL; starts gunicorn on 127.0.0.1)

Sets up a fresh database (``BENCH_DB_NAME``, default ``test_bench_xapi_state``) with one
institution, its API key and ``BENCH_STATE_LEARNERS`` (default 2,000) learners' saved
states, starts gunicorn (``--preload``, ``BENCH_WORKERS`` sync workers, default 4 as in the
README's production command, production settings from :mod:`bench.settings`; a State write
waits for its commit to reach the disk, and other workers use the CPU meanwhile) and
measures with ``wrk`` (``BENCH_CONNECTIONS``, default 8, for ``BENCH_SECONDS``, default 8),
in one run, each after a second of the same requests not counted and a ``VACUUM ANALYZE``:
- ``PUT /xapi/activities/state``: a learner's bookmark replaced (each request another learner
  of the seeded ones, so requests do not queue on one row's lock, as in a class);
- ``GET /xapi/activities/state``: a learner's bookmark read;
- ``GET /api/v1/me`` with the same key: the floor, a trivial authenticated endpoint.
Target: each State request at least 0.5× the floor in the same run, p99 under 50 ms.
All traffic goes to 127.0.0.1 only, and every loop is bounded.
"""

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402 - after the path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
# A database of its own, so that it never drops the one another benchmark is using.
os.environ.setdefault("BENCH_DB_NAME", "test_bench_xapi_state")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")

LEARNERS = int(os.environ.get("BENCH_STATE_LEARNERS", "2000"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
WARM_SECONDS = 1
ACTIVITY = "https://lms.bench.example/activities/cmi5-course/au-1"
BOOKMARK = {"location": "slide-12", "suspend_data": "a" * 200, "score": 0.75}


def _agent(n: str) -> str:
    return json.dumps({"objectType": "Agent", "mbox": f"mailto:l{n}@bench.example"})


def state_path(n: str) -> str:
    """The State resource's path for learner ``n`` (``n`` may be a Lua expression marker)."""
    return (
        f"/xapi/activities/state?activityId={quote(ACTIVITY, safe='')}"
        f"&agent={quote(_agent(n), safe='')}&stateId=bookmark"
    )


def state_script(method: str, headers: dict[str, str], body: str = "") -> str:
    """``method`` on learner n's state, n walking through the seeded learners per thread."""
    prefix, suffix = state_path("ZZLEARNERZZ").split("ZZLEARNERZZ")
    header_lines = "".join(
        f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n" for k, v in headers.items()
    )
    return f"""
{header_lines}
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
request = function()
  counter = counter + 1
  local n = (counter * 2 + tid) % {LEARNERS}
  local path = {json.dumps(prefix)} .. tostring(n) .. {json.dumps(suffix)}
  return wrk.format({json.dumps(method)}, path, nil, {json.dumps(body) if body else "nil"})
end
"""


def setup_data() -> str:
    from django.contrib.auth import get_user_model

    from courses.models import XapiDocumentKind
    from courses.xapi import documents
    from lms import services

    institution = services.institution_create(name="Bench Institute", country="KE")
    manager = get_user_model().objects.create(username="bench-manager")
    _, key = services.api_key_create(institution=institution, name="bench", created_by=manager)
    content = json.dumps(BOOKMARK).encode()
    for n in range(LEARNERS):
        documents.document_put(
            institution=institution,
            scope=documents.DocumentScope(
                kind=XapiDocumentKind.STATE,
                activity_id=ACTIVITY,
                agent=f"mbox:mailto:l{n}@bench.example",
                document_id="bookmark",
            ),
            sent=documents.Sent(content, "application/json"),
            pre=documents.Preconditions(),
        )
    return key


def settle() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def main() -> int:
    if not wrk.available():
        print("wrk is not installed (apt-get install wrk)")
        return 1
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    server = None
    try:
        key = setup_data()
        settings_dict = connection.settings_dict
        db_url = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{test_db}"
        )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "lms.wsgi",
                "--workers",
                str(WORKERS),
                "--preload",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": db_url},
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/xapi/about", timeout=2)  # noqa: S310 - loopback
                break
            except OSError:
                time.sleep(0.2)
        basic = {
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
            "X-Experience-API-Version": "1.0.3",
        }
        bookmark = json.dumps(BOOKMARK)
        runs_to_make = [
            (
                "PUT /xapi/activities/state",
                state_script("PUT", {**basic, "Content-Type": "application/json"}, bookmark),
            ),
            ("GET /xapi/activities/state", state_script("GET", basic)),
            (
                "GET /api/v1/me (floor)",
                wrk.get_script("/api/v1/me", {"Authorization": f"Bearer {key}"}),
            ),
        ]
        workdir = Path(tempfile.mkdtemp())
        runs = {}
        for name, script in runs_to_make:
            wrk.run(base, script, workdir=workdir, connections=CONNECTIONS, seconds=WARM_SECONDS)
            settle()
            runs[name] = wrk.run(
                base, script, workdir=workdir, connections=CONNECTIONS, seconds=SECONDS
            )
        print(
            f"Database: PostgreSQL ({test_db}); gunicorn {WORKERS} sync workers, --preload; "
            f"{LEARNERS} learners' states; wrk {CONNECTIONS} connections, {SECONDS} s"
        )
        floor = runs["GET /api/v1/me (floor)"]["rate"]
        for name, figures in runs.items():
            ratio = "" if "floor" in name else f"; {figures['rate'] / floor:.2f}× the floor"
            print(
                f"  {name}: {figures['rate']:,.0f} requests/s, p50 {figures['p50']:.1f} ms, "
                f"p99 {figures['p99']:.1f} ms; {figures['requests']} requests, "
                f"{figures['errors']} errors{ratio}"
            )
        print("targets: State PUT and GET each ≥ 0.5× the floor, p99 < 50 ms")
        return 0
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        from django.db import connections

        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    raise SystemExit(main())
