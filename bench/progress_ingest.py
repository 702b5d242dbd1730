"""Benchmark: progress events from another LMS through the HTTP API, under gunicorn.

Run:  make bench-ingest      (PostgreSQL at DATABASE_URL; starts gunicorn on 127.0.0.1)

Sets up a fresh database (``BENCH_DB_NAME``, default ``test_bench``) with the demo course,
N learners (each enrolled) and earlier activity (``BENCH_HISTORY`` progress events and xAPI
statements, default 20,000 each), analyses it as autovacuum would a live one, starts
gunicorn as the README's production command runs it (``--preload``, 4 sync workers;
``BENCH_WORKERS`` and ``BENCH_THREADS`` — threads > 1 means the gthread worker — try others)
with production settings (:mod:`bench.settings`: DEBUG off, persistent connections, the Redis
cache), and measures, in one run:
(More sync workers than cores let one worker use the CPU while another waits for
PostgreSQL to write its commit to disk; the floors are measured in the same gunicorn, so
they move with it.)
- batched ingest: POST /api/v1/progress/events with batches of 1,000 events, two clients in
  parallel — events per second, including validation and derived state (completions,
  evidence, attainment). Targets: at least 2,000/s, aim 5,000/s.
- single events: one event per request — sequentially (one client: latency) and from
  ``BENCH_CLIENTS`` clients at once (default 4: throughput) — requests per second and p50/p99
  latency, overall and per verb. Targets: at least 300/s, p99 under 50 ms.
- single requests under load from ``wrk`` (a C client; ``BENCH_CONNECTIONS``, default 8,
  for ``BENCH_SECONDS``, default 8): one progress event a request ("completed" of a module,
  each learner's first: completion, evidence and attainment derived), one xAPI statement a
  request (``POST /xapi/statements``, "completed" of the module's activity IRI, which
  becomes progress the same way), and the floors below, each after a ``VACUUM ANALYZE``
  (see :func:`settle`) and a second of the same requests, not counted (see
  :func:`wrk_runs`). Targets: at least 300/s, p99 under 50 ms. Without wrk only the Python
  client's figures are printed.
- the framework's floor for single requests, in the same gunicorn: ``GET /xapi/about`` (a
  plain Django view through the whole middleware stack, no query) and ``GET /api/v1/me``
  with the API key (a trivial django-ninja endpoint, key authentication included, cached).
  No endpoint can answer faster than these on this machine in this run.
- baseline: a raw ``bulk_create`` of the same number of ProgressEvent rows in the same run;
  the ratio shows what validation and derived state cost.
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
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402 - after the path is set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")

LEARNERS = int(os.environ.get("BENCH_LEARNERS", "2000"))
BATCH = 1000
SINGLE_REQUESTS = int(os.environ.get("BENCH_SINGLE", "400"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
FLOOR_REQUESTS = 300
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
#: Earlier progress events and xAPI statements in the database (see history_seed).
HISTORY = int(os.environ.get("BENCH_HISTORY", "20000"))
#: The floors the progress path must hold, as ratios to baselines measured in the same run:
#: a single event or statement under wrk against ``GET /api/v1/me``, with its p99 latency;
#: batched ingest against a raw ``bulk_create`` of the same rows.
SINGLE_FLOOR = 0.15
P99_CEILING_MS = 100
BATCHED_FLOOR = 0.4
#: Fresh learners for each wrk run (more than wrk sends in BENCH_SECONDS at 1,000/s).
WRK_LEARNERS = 12_000
#: Seconds of the same requests before each measured wrk run, not counted (see wrk_runs),
#: and fresh learners for them.
WARM_SECONDS = 1
WARM_LEARNERS = 2_000
#: The activity IRI the bench's first module is mapped to, for xAPI statements.
ACTIVITY_IRI = "https://lms.bench.example/activities/opening-a-case"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: dict | None, key: str) -> tuple[int, dict, float]:
    """POST ``body`` (GET when None) with the key; the status, the JSON answer, the seconds."""
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    )
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
        payload = json.loads(response.read())
        return response.status, payload, time.perf_counter() - start


def percentile(latencies: list[float], share: float) -> float:
    """In milliseconds; the nearest-rank percentile."""
    ordered = sorted(latencies)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)] * 1000


def requests_run(requests: list, send, clients: int) -> tuple[float, list[tuple[str, float]]]:
    """Send each request once from ``clients`` threads; the seconds taken, (label, latency)s."""
    queue = list(reversed(requests))
    lock = threading.Lock()
    timings: list[tuple[str, float]] = []

    def client():
        while True:
            with lock:
                if not queue:
                    return
                request = queue.pop()
            label, seconds = send(request)
            with lock:
                timings.append((label, seconds))

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=1800)
    return time.perf_counter() - start, timings


def latency_line(name: str, seconds: float, timings: list[tuple[str, float]]) -> str:
    latencies = [latency for _label, latency in timings]
    line = (
        f"{name}: {len(timings) / seconds:,.0f} requests/s, p50 {percentile(latencies, 0.5):.1f} "
        f"ms, p99 {percentile(latencies, 0.99):.1f} ms"
    )
    labels = sorted({label for label, _latency in timings})
    if len(labels) > 1:
        line += (
            " ("
            + "; ".join(
                f"{label} p50 {percentile([s for lb, s in timings if lb == label], 0.5):.1f} ms"
                for label in labels
            )
            + ")"
        )
    return line


def setup_data():
    from django.contrib.auth import get_user_model
    from wagtail.models import Page, Site

    from competencies import demo as competencies_demo
    from competencies import services as competency_services
    from courses import demo as courses_demo
    from courses.models import CourseIndexPage, Enrolment, ModulePage
    from courses.services import institution_page_create
    from lms import services
    from lms.models import LearnerIdentity

    root = Page.get_first_root_node()
    catalogue = CourseIndexPage(title="Courses", slug="bench-courses")
    root.add_child(instance=catalogue)
    catalogue.save_revision().publish()
    Site.objects.update(root_page=catalogue)
    institution = services.institution_create(name="Bench Institute", country="KE")
    institution_page_create(institution=institution, catalogue=catalogue)
    institution.refresh_from_db()
    framework = competency_services.framework_import(
        data=competencies_demo.para_professional_data(creator="Bench"),
        owner_institution=institution,
    )
    competency_services.framework_publish(framework=framework)
    course = courses_demo.seed_course(institution=institution, framework=framework)
    modules = list(ModulePage.objects.child_of(course).order_by("path"))
    manager = get_user_model().objects.create(username="bench-manager")
    _, key = services.api_key_create(institution=institution, name="bench", created_by=manager)

    first = modules[0]
    first.xapi_activity_iri = ACTIVITY_IRI
    first.save_revision().publish()
    users = get_user_model().objects.bulk_create(
        [
            get_user_model()(username=f"bench-learner-{i}")
            for i in range(LEARNERS + 2 * (WRK_LEARNERS + WARM_LEARNERS))
        ],
        batch_size=2000,
    )
    LearnerIdentity.objects.bulk_create(
        [
            LearnerIdentity(institution=institution, external_id=f"L{i}", user=u)
            for i, u in enumerate(users)
        ],
        batch_size=2000,
    )
    now = django.utils.timezone.now()
    Enrolment.objects.bulk_create(
        [Enrolment(learner=u, course=course, enrolled_at=now) for u in users], batch_size=2000
    )
    history_seed(institution=institution, course=course, module=first, users=users, now=now)
    return key, course, modules, users


def viewed_events(*, users, course, module, count: int, at) -> list:
    """``count`` new "viewed" events of ``module`` by ``users`` in turn, as rows to insert."""
    from courses.models import ProgressEvent

    return [
        ProgressEvent(
            event_id=uuid.uuid4(),
            learner=users[i % len(users)],
            verb="viewed",
            object_type="module",
            course=course,
            module=module,
            revision_id=module.live_revision_id,
            occurred_at=at,
            source="api",
        )
        for i in range(count)
    ]


def history_seed(*, institution, course, module, users, now) -> None:
    """Earlier activity, as a live service has: ``HISTORY`` "viewed" events and as many xAPI
    statements no module is mapped to. The bench then analyses the database, so PostgreSQL
    plans for tables of some size, as it would in production; planned for the empty tables
    of a new database, reads and foreign-key checks would scan whole tables as they grow."""
    from courses.models import ProgressEvent, XapiStatement

    ProgressEvent.objects.bulk_create(
        viewed_events(users=users, course=course, module=module, count=HISTORY, at=now),
        batch_size=5000,
    )
    authority = {"objectType": "Agent", "account": {"homePage": "urn:ssw:api-key", "name": "x"}}
    statements = []
    for i in range(HISTORY):
        statement_id = uuid.uuid4()
        actor = {"objectType": "Agent", "mbox": f"mailto:reader-{i}@bench.example"}
        verb = "http://adlnet.gov/expapi/verbs/experienced"
        activity = f"https://lms.bench.example/activities/page-{i % 500}"
        raw = {"id": str(statement_id), "actor": actor, "verb": {"id": verb}}
        raw["object"] = {"id": activity}
        statements.append(
            XapiStatement(
                institution=institution,
                statement_id=statement_id,
                raw=raw,
                stored=now,
                timestamp=now,
                authority=authority,
                actor_ifi=actor["mbox"],
                verb_iri=verb,
                activity_iri=activity,
                progress_status="not_mapped",
            )
        )
    XapiStatement.objects.bulk_create(statements, batch_size=5000)


def events_for(learner_index: int, modules, verb_cycle: int) -> list[dict]:
    """Four events per learner: viewed ×2, completed module 1, passed module 2 (score 90)."""
    learner = f"L{learner_index}"
    return [
        {"id": str(uuid.uuid4()), "learner": learner, "verb": "viewed", "module_id": modules[0].pk},
        {
            "id": str(uuid.uuid4()),
            "learner": learner,
            "verb": "completed",
            "module_id": modules[0].pk,
        },
        {"id": str(uuid.uuid4()), "learner": learner, "verb": "viewed", "module_id": modules[1].pk},
        {
            "id": str(uuid.uuid4()),
            "learner": learner,
            "verb": "passed",
            "module_id": modules[1].pk,
            "score": 90,
            "success": True,
        },
    ]


def wrk_runs(base: str, key: str, modules, *, workdir: Path) -> list[tuple[str, dict]]:
    """Single requests from wrk: a progress event, an xAPI statement and the floors.

    Each measured run follows :data:`WARM_SECONDS` of the same requests (for other learners),
    not counted: the first request of a kind in a worker fills that process's caches (the
    course structure, the activity's module, the framework's rules: about 30 ms), which a
    live server filled long ago; counted in an 8-second run, those few slow requests, and
    the ones queued behind them, would be the p99."""
    if not wrk.available():
        return []
    bearer = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    basic = {
        "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        "Content-Type": "application/json",
        "X-Experience-API-Version": "1.0.3",
    }
    event = (
        '{"events": [{"id": "{id}", "learner": "L{n}", "verb": "completed", '
        f'"module_id": {modules[0].pk}}}]}}'
    )
    statement = (
        '{"id": "{id}", "actor": {"objectType": "Agent", "account": '
        '{"homePage": "https://moodle.bench.example", "name": "L{n}"}}, '
        '"verb": {"id": "http://adlnet.gov/expapi/verbs/completed"}, '
        f'"object": {{"id": "{ACTIVITY_IRI}"}}}}'
    )
    first_warm = LEARNERS + 2 * WRK_LEARNERS

    def events(first: int, spread: int) -> str:
        return wrk.posts_script(
            "/api/v1/progress/events", bearer, event, spread=spread, first=first
        )

    def statements(first: int, spread: int) -> str:
        return wrk.posts_script("/xapi/statements", basic, statement, spread=spread, first=first)

    me = wrk.get_script("/api/v1/me", bearer)
    about = wrk.get_script("/xapi/about", {})
    runs_to_make = [  # (name, warm-up script, measured script)
        (
            "POST /api/v1/progress/events, one event",
            events(first_warm, WARM_LEARNERS),
            events(LEARNERS, WRK_LEARNERS),
        ),
        (
            "POST /xapi/statements, one statement",
            statements(first_warm + WARM_LEARNERS, WARM_LEARNERS),
            statements(LEARNERS + WRK_LEARNERS, WRK_LEARNERS),
        ),
        ("GET /api/v1/me (floor)", me, me),
        ("GET /xapi/about (floor)", about, about),
    ]
    runs = []
    for name, warm, script in runs_to_make:
        wrk.run(base, warm, workdir=workdir, connections=CONNECTIONS, seconds=WARM_SECONDS)
        settle()
        runs.append(
            (name, wrk.run(base, script, workdir=workdir, connections=CONNECTIONS, seconds=SECONDS))
        )
    return runs


def settle() -> None:
    """Vacuum and analyse before each measured run, so that each starts from the same settled
    database: left to autovacuum, catching up on the run before (thousands of inserts in a
    few seconds) may fall in the next run's seconds and count against it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def main() -> int:
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    server = None
    try:
        key, course, modules, users = setup_data()
        # Statistics, as a live database has them (autovacuum keeps them; see history_seed).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        from courses.models import ModuleCompletion, ProgressEvent

        all_events = []
        for i in range(LEARNERS):
            all_events.extend(events_for(i, modules, i))
        # The last learners' events are sent one per request: half sequentially, half from
        # several clients at once.
        single_events = all_events[-SINGLE_REQUESTS:]
        batch_events = all_events[:-SINGLE_REQUESTS]
        half = (len(single_events) // 8) * 4
        sequential_events, parallel_events = single_events[:half], single_events[half:]
        # Interleaved, so that clients at once send different learners' events (one learner's
        # events would wait for each other's lock) and each learner's come roughly in order.
        parallel_events = [event for step in range(4) for event in parallel_events[step::4]]
        batches = [batch_events[i : i + BATCH] for i in range(0, len(batch_events), BATCH)]

        settings_dict = connection.settings_dict
        db_url = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{test_db}"
        )
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": db_url,
            "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "lms.wsgi",
                "--workers",
                str(WORKERS),
                *(["--worker-class", "gthread", "--threads", str(THREADS)] if THREADS > 1 else []),
                "--preload",
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--timeout",
                "300",
            ],
            cwd=ROOT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=2)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        # Warm both workers.
        post(f"{base}/api/v1/progress/events", {"events": []}, key)
        post(f"{base}/api/v1/progress/events", {"events": []}, key)

        outcomes = []
        lock = threading.Lock()
        queue = list(batches)

        def client():
            while True:
                with lock:
                    if not queue:
                        return
                    batch = queue.pop(0)
                status, body, _ = post(f"{base}/api/v1/progress/events", {"events": batch}, key)
                with lock:
                    outcomes.append((status, body))

        start = time.perf_counter()
        clients = [threading.Thread(target=client) for _ in range(2)]
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(timeout=1800)
        batch_seconds = time.perf_counter() - start
        applied = sum(
            1
            for status, body in outcomes
            for r in body.get("results", [])
            if r.get("status") == "applied"
        )
        rejected = [
            r
            for _, body in outcomes
            for r in body.get("results", [])
            if r.get("status") != "applied"
        ]

        def send_event(event):
            status, body, seconds = post(f"{base}/api/v1/progress/events", {"events": [event]}, key)
            assert body["results"][0]["status"] == "applied", body
            return event["verb"], seconds

        def send_floor(path):
            status, _body, seconds = post(f"{base}{path}", None, key)
            assert status == 200
            return path, seconds

        floors = []
        for path in ("/xapi/about", "/api/v1/me"):
            for clients in (1, CLIENTS):
                requests_run([path] * 20, send_floor, clients)  # warm up
                seconds, timings = requests_run([path] * FLOOR_REQUESTS, send_floor, clients)
                floors.append(latency_line(f"  {path}, {clients} client(s)", seconds, timings))
        sequential = requests_run(sequential_events, send_event, 1)
        parallel = requests_run(parallel_events, send_event, CLIENTS)
        under_load = wrk_runs(base, key, modules, workdir=Path(tempfile.mkdtemp()))

        # Baseline: the same number of rows, raw.
        from django.utils import timezone

        start = time.perf_counter()
        ProgressEvent.objects.bulk_create(
            viewed_events(
                users=users,
                course=course,
                module=modules[0],
                count=len(batch_events),
                at=timezone.now(),
            ),
            batch_size=1000,
        )
        baseline_seconds = time.perf_counter() - start

        rate = applied / batch_seconds
        baseline_rate = len(batch_events) / baseline_seconds
        from django.conf import settings

        print(
            f"Database: PostgreSQL ({test_db}); gunicorn {WORKERS} "
            f"{f'gthread workers x {THREADS} threads' if THREADS > 1 else 'sync workers'}, "
            f"--preload; cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; "
            f"settings "
            f"{os.environ['DJANGO_SETTINGS_MODULE']} (DEBUG {settings.DEBUG}, CONN_MAX_AGE "
            f"{settings.DATABASES['default']['CONN_MAX_AGE']}); {LEARNERS} learners"
        )
        print(
            f"batched ingest: {applied} events applied in {batch_seconds:.2f} s = "
            f"{rate:,.0f} events/s (target ≥ 2,000, aim 5,000); rejected: {len(rejected)}"
        )
        print(
            f"baseline raw bulk_create: {len(batch_events)} rows in {baseline_seconds:.2f} s = "
            f"{baseline_rate:,.0f} rows/s; ingest is {rate / baseline_rate:.2f}× the baseline"
        )
        batched_ratio = rate / baseline_rate
        print(
            f"floor: batched ingest {batched_ratio:.2f}× the raw bulk_create (floor "
            f"{BATCHED_FLOOR}×): {'held' if batched_ratio >= BATCHED_FLOOR else 'MISSED'}"
        )
        print("framework floor (same gunicorn, no progress work):")
        for line in floors:
            print(line)
        print("single events (targets ≥ 300/s, p99 < 50 ms):")
        print(latency_line("  1 client (sequential)", *sequential))
        print(latency_line(f"  {CLIENTS} clients", *parallel))
        if under_load:
            print(
                f"single requests under load (wrk, {CONNECTIONS} connections, {SECONDS} s; "
                "targets ≥ 300/s, p99 < 50 ms):"
            )
            for name, figures in under_load:
                print(
                    f"  {name}: {figures['rate']:,.0f} requests/s, p50 {figures['p50']:.1f} ms, "
                    f"p99 {figures['p99']:.1f} ms; {figures['requests']} requests, "
                    f"{figures['errors']} errors {figures['socket_errors']}".rstrip()
                )
            floor = dict(under_load)["GET /api/v1/me (floor)"]["rate"]
            for name, figures in under_load[:2]:
                print(f"  {name} is {figures['rate'] / floor:.2f}× the trivial API endpoint")
            print(f"floors (in this run; at {CONNECTIONS} connections):")
            for name, figures in under_load[:2]:
                ratio, p99 = figures["rate"] / floor, figures["p99"]
                held = ratio >= SINGLE_FLOOR and p99 < P99_CEILING_MS
                print(
                    f"  {name}: {ratio:.2f}× GET /api/v1/me (floor {SINGLE_FLOOR}×), "
                    f"p99 {p99:.0f} ms (under {P99_CEILING_MS} ms): "
                    f"{'held' if held else 'MISSED'}"
                )
            from django.db.models import Count

            from courses.models import XapiStatement

            statuses = dict(  # of the statements wrk sent (the seeded history has no key)
                XapiStatement.objects.filter(api_key__isnull=False)
                .values_list("progress_status")
                .annotate(n=Count("pk"))
            )
            print(f"  xAPI statements by progress status: {statuses}")
        else:
            print("single requests under load: wrk is not installed (apt-get install wrk)")
        print(f"completions derived: {ModuleCompletion.objects.count()}")
        if rejected:
            print("first rejection:", rejected[0])
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
