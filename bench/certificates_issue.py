"""Benchmark: certificates issued end to end through Celery workers on Redis.

Run:  make bench-certificates   (PostgreSQL at DATABASE_URL, Redis at CELERY_BROKER_URL;
                                 BENCH_CERTIFICATES=400 by default)

Sets up a fresh PostgreSQL database (``bench_certificates_issue``) with the demo course, a
branded certificate template (logo and signature images) and N learners who finished the
course, then starts ``celery -A lms worker --concurrency=2`` (prefork: two worker processes,
as on this 2-core machine) on a queue and media folder of its own (a settings module written
for the run), and measures, in rounds that alternate so that other load on the machine
falls on both alike:

- issue end to end: ``certificate_issue`` for each learner (records the certificate and
  enqueues its rendering on commit) until every certificate is ready — PDF stored through
  Django's storage API, signed credential saved, holder e-mailed — in certificates a minute.
  Targets: at least 1,500 a minute, and at least 0.85x the baseline.
- baseline: bare WeasyPrint (``HTML(string=…).write_pdf(stylesheets=[…])`` as its
  documentation shows, nothing kept between documents) rendering the same HTML
  (``render_html``: the self-contained document), one distinct certificate each time, in two
  processes (multiprocessing). For information, the service's own ``render_pdf``.

Besides certificates a minute, it prints the CPU time a certificate took (the worker's
processes and the issuing process, from /proc) against the baseline's: a ratio that other
load on the machine disturbs less; apart, the CPU PostgreSQL and Redis spent meanwhile and
how much of the time the CPUs were idle. Workers get production's persistent database
connections. Everything runs on 127.0.0.1 and every loop
is bounded; the database, the queue and the stored files are removed at the end.
"""

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CERTIFICATES = int(os.environ.get("BENCH_CERTIFICATES", "400"))
WARM_UP = 6
ROUNDS = 3
WORKER_CONCURRENCY = 2
TIMEOUT_SECONDS = 900
TARGET_PER_MINUTE = 1500
TARGET_RATIO = 0.85
DB_NAME = "bench_certificates_issue"

#: Settings of this run, shared by this process and the worker: the test settings plus a
#: queue and a media folder of its own, so that nothing else on this Redis or disk mixes in.
SETTINGS_MODULE = """\
from lms.settings.test import *  # noqa: F403

CELERY_TASK_DEFAULT_QUEUE = {queue!r}
MEDIA_ROOT = {media_root!r}
"""


def configure(workdir: Path) -> dict:
    """Write this run's settings module; return the environment for Django and the worker."""
    queue = f"bench-certificates-{uuid.uuid4().hex[:8]}"
    media_root = workdir / "media"
    media_root.mkdir()
    (workdir / "bench_certificates_settings.py").write_text(
        SETTINGS_MODULE.format(queue=queue, media_root=str(media_root))
    )
    sys.path.insert(0, str(workdir))
    env = {
        "DJANGO_SETTINGS_MODULE": "bench_certificates_settings",
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "")
        if os.environ.get("CELERY_BROKER_URL", "").startswith("redis://")
        else "redis://127.0.0.1:6379/0",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "LOG_LEVEL": "WARNING",  # WeasyPrint logs every step at INFO
    }
    os.environ.update(env)
    return {"queue": queue, "media_root": media_root, "env": env}


def make_png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, height - 10, height - 10), fill=colour)
    draw.rectangle((height, height // 3, width - 10, 2 * height // 3), fill=colour)
    buffer = BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def setup_data(count: int):
    """The demo course, a branded template and ``count`` learners who finished the course."""
    from django.contrib.auth import get_user_model
    from django.core.files.images import ImageFile
    from wagtail.images.models import Image
    from wagtail.models import Page, Site

    from certificates.models import CertificateRule, CertificateTemplate
    from competencies import demo as competencies_demo
    from competencies import services as competency_services
    from courses import demo as courses_demo
    from courses.models import CourseIndexPage, Enrolment, ModulePage
    from courses.services import NewProgressEvent, institution_page_create, progress_events_record
    from lms import services
    from lms.models import LearnerProfile

    root = Page.get_first_root_node()
    catalogue = CourseIndexPage(title="Courses", slug="bench-courses")
    root.add_child(instance=catalogue)
    catalogue.save_revision().publish()
    Site.objects.update(root_page=catalogue)
    institution = services.institution_create(name="Bench Institute of Social Work", country="KE")
    institution_page_create(institution=institution, catalogue=catalogue)
    institution.refresh_from_db()
    framework = competency_services.framework_import(
        data=competencies_demo.para_professional_data(creator="Bench"),
        owner_institution=institution,
    )
    competency_services.framework_publish(framework=framework)
    course = courses_demo.seed_course(institution=institution, framework=framework)
    modules = list(ModulePage.objects.child_of(course).live().order_by("path"))

    from io import BytesIO

    logo, signature = (
        Image.objects.create(
            title=title,
            file=ImageFile(BytesIO(make_png(*size, (29, 78, 137))), name=f"{title}.png"),
        )
        for title, size in (("bench-logo", (600, 300)), ("bench-signature", (500, 160)))
    )
    template = CertificateTemplate.objects.create(
        institution=institution,
        name="Bench design",
        logo=logo,
        signature=signature,
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
    )

    users = get_user_model().objects.bulk_create(
        [
            get_user_model()(username=f"bench-learner-{i}", email=f"learner{i}@example.org")
            for i in range(count)
        ]
    )
    LearnerProfile.objects.bulk_create(
        [
            LearnerProfile(
                user=user,
                full_name=f"Amina Wanjiru Njoroge {i}",
                cadre="para_professional",
                sector="community",
                country="KE",
            )
            for i, user in enumerate(users)
        ]
    )
    now = django.utils.timezone.now()
    Enrolment.objects.bulk_create(
        [Enrolment(learner=user, course=course, enrolled_at=now) for user in users]
    )
    events = [
        NewProgressEvent(
            event_id=uuid.uuid4(),
            learner=user,
            module=module,
            verb="passed" if module.quiz_block() is not None else "completed",
            success=True if module.quiz_block() is not None else None,
            source="api",
        )
        for user in users
        for module in modules
    ]
    for start in range(0, len(events), 1000):
        outcomes = progress_events_record(events=events[start : start + 1000])
        refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
        if refused:
            raise SystemExit(f"Setting up progress failed: {refused[0]}")
    # The rule comes last, so that finishing the course above issued nothing yet.
    CertificateRule.objects.create(
        course=course, template=template, require_modules=True, validity_months=24
    )
    return course, users


def start_worker(env: dict, queue: str, log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "lms",
            "worker",
            "--pool=prefork",
            f"--concurrency={WORKER_CONCURRENCY}",
            "-Q",
            queue,
            "--hostname",
            f"{queue}@127.0.0.1",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env={**os.environ, **env, "DATABASE_CONN_MAX_AGE": "600"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_for_worker(name: str, worker: subprocess.Popen, timeout: float = 60) -> None:
    from lms.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.poll() is None:
        if app.control.ping(destination=[name], timeout=1):
            return
    raise SystemExit(f"The worker {name} did not start; see its log.")


def wait_until_ready(ids: list[int], *, timeout: float) -> float:
    """Poll until every certificate is rendered; the time at which they all were."""
    from django.db.models import F

    from certificates.models import Certificate, RenderStatus

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = (
            Certificate.objects.filter(pk__in=ids)
            .exclude(render_status=RenderStatus.READY, rendered_version=F("version"))
            .count()
        )
        if pending == 0:
            return time.perf_counter()
        failed = Certificate.objects.filter(pk__in=ids, render_status=RenderStatus.FAILED)
        if failed.exists():
            raise SystemExit(f"Rendering failed: {failed.first().render_error}")
        time.sleep(0.05)
    raise SystemExit(f"Not all certificates were ready after {timeout:.0f} s.")


def issue_all(course, learners) -> list[int]:
    from certificates.services import certificate_issue

    return [
        certificate_issue(learner=learner, course=course).certificate.pk for learner in learners
    ]


def baseline_jobs(certificates) -> list[tuple[str, str]]:
    """The HTML the service renders for each certificate, with its layout."""
    from certificates.rendering import render_html
    from certificates.services import verification_url

    return [
        (render_html(certificate=c, verification_url=verification_url(c)), c.template.layout)
        for c in certificates
    ]


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its children, live or reaped (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")

    def own(process: int, with_reaped: bool) -> float:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return 0.0
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        return (utime + stime + (cutime + cstime if with_reaped else 0)) / ticks

    children = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children += [int(child) for child in task.read_text().split()]
    return own(pid, True) + sum(own(child, False) for child in children)


def idle_seconds() -> float:
    """Seconds all CPUs of this machine have been idle since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def servers_cpu_seconds(names=("postgres", "redis-server")) -> float:
    """CPU time used so far by the live PostgreSQL and Redis processes on this machine (the
    database and broker work of issuing competes for the same two cores)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().split("(", 1)[1].rsplit(")", 1)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if name in names:
            total += sum(int(value) for value in fields.split()[11:13]) / ticks
    return total


# --- Baseline: rendering the same HTML in two processes ----------------------------------------


def _bare_weasyprint(job: tuple[str, str]) -> float:
    """Render one document with WeasyPrint as its documentation shows; the CPU time taken."""
    from weasyprint import CSS, HTML

    from certificates.rendering import STYLES

    html, layout = job
    start = time.process_time()
    HTML(string=html, base_url=str(STYLES)).write_pdf(
        stylesheets=[CSS(filename=STYLES / "base.css"), CSS(filename=STYLES / f"{layout}.css")]
    )
    return time.process_time() - start


def _service_render(certificate_id: int) -> float:
    from certificates.models import Certificate
    from certificates.services import certificate_pdf_bytes

    certificate = Certificate.objects.select_related("template", "institution").get(
        pk=certificate_id
    )
    start = time.process_time()
    certificate_pdf_bytes(certificate=certificate)
    return time.process_time() - start


def timed_map(pool, function, items: list) -> tuple[float, float]:
    """Wall-clock seconds to map ``function`` over ``items`` in the pool, and CPU seconds."""
    start = time.perf_counter()
    cpu = sum(pool.map(function, items, chunksize=1))
    return time.perf_counter() - start, cpu


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-certificates-"))
    run = configure(workdir)
    django.setup()
    from django.db import connection, connections
    from django.test.utils import setup_test_environment

    from certificates.keys import known_public_keys
    from certificates.models import Certificate
    from certificates.signing import verify

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = DB_NAME
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    worker = pool = None
    try:
        started = time.perf_counter()
        course, learners = setup_data(CERTIFICATES + WARM_UP)
        print(f"Set up {len(learners)} learners in {time.perf_counter() - started:.1f} s")
        settings_dict = connection.settings_dict
        worker_env = {
            **run["env"],
            "DATABASE_URL": f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:"
            f"{settings_dict['PORT']}/{settings_dict['NAME']}",
        }
        worker = start_worker(worker_env, run["queue"], workdir / "worker.log")
        wait_for_worker(f"{run['queue']}@127.0.0.1", worker)
        # Warm-up: each worker process loads WeasyPrint, fonts and contexts once.
        warm_ids = issue_all(course, learners[:WARM_UP])
        wait_until_ready(warm_ids, timeout=120)
        connections.close_all()  # the baseline's processes are forked: they open their own
        pool = multiprocessing.get_context("fork").Pool(WORKER_CONCURRENCY)
        warm = list(Certificate.objects.filter(pk__in=warm_ids).select_related("template"))
        pool.map(_bare_weasyprint, baseline_jobs(warm), chunksize=1)
        pool.map(_service_render, warm_ids, chunksize=1)

        # Rounds that alternate the pipeline and the baselines, so that other load on the
        # machine falls on both alike.
        totals = dict.fromkeys(
            (
                "issue_wall",
                "issuing",
                "issuing_cpu",
                "issue_cpu",
                "servers_cpu",
                "idle",
                "bare_wall",
                "bare_cpu",
                "own_wall",
                "own_cpu",
            ),
            0.0,
        )
        ids: list[int] = []
        remaining = learners[WARM_UP:]
        size = -(-len(remaining) // ROUNDS)
        for start_index in range(0, len(remaining), size):
            batch = remaining[start_index : start_index + size]
            cpu_before = cpu_seconds(worker.pid) + time.process_time()
            servers_before, idle_before = servers_cpu_seconds(), idle_seconds()
            start, issuing_cpu = time.perf_counter(), time.process_time()
            batch_ids = issue_all(course, batch)
            totals["issuing"] += time.perf_counter() - start
            totals["issuing_cpu"] += time.process_time() - issuing_cpu
            end = wait_until_ready(batch_ids, timeout=TIMEOUT_SECONDS)
            totals["issue_wall"] += end - start
            totals["issue_cpu"] += cpu_seconds(worker.pid) + time.process_time() - cpu_before
            totals["servers_cpu"] += servers_cpu_seconds() - servers_before
            totals["idle"] += idle_seconds() - idle_before
            ids += batch_ids

            certificates = list(
                Certificate.objects.filter(pk__in=batch_ids).select_related(
                    "template", "institution"
                )
            )
            jobs = baseline_jobs(certificates)
            connections.close_all()
            wall, cpu = timed_map(pool, _bare_weasyprint, jobs)
            totals["bare_wall"] += wall
            totals["bare_cpu"] += cpu
            wall, cpu = timed_map(pool, _service_render, batch_ids)
            totals["own_wall"] += wall
            totals["own_cpu"] += cpu

        count = len(ids)
        rate = count / totals["issue_wall"] * 60
        bare_rate = count / totals["bare_wall"] * 60
        own_rate = count / totals["own_wall"] * 60
        certificates = list(Certificate.objects.filter(pk__in=ids))
        stored = sum(1 for c in certificates if c.pdf and (run["media_root"] / c.pdf.name).exists())
        checked = certificates[:: max(1, len(certificates) // 10)]

        def key_for(method):
            return known_public_keys().get(method.rsplit("#", 1)[-1])

        signatures_ok = all(verify(c.credential, public_key_for=key_for).ok for c in checked)

        def ms(seconds: float) -> str:
            return f"{seconds / count * 1000:.0f} ms"

        print(
            f"Database: PostgreSQL ({DB_NAME}); Redis broker; one worker, prefork, "
            f"{WORKER_CONCURRENCY} processes; {count} certificates in {ROUNDS} rounds; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        print(
            f"issue end to end: {count} certificates ready in {totals['issue_wall']:.1f} s "
            f"(issuing took {totals['issuing']:.1f} s of it) = {rate:,.0f}/min "
            f"(target ≥ {TARGET_PER_MINUTE:,}); CPU {ms(totals['issue_cpu'])} a certificate "
            f"(worker and issuing process; issuing {ms(totals['issuing_cpu'])} of it), "
            f"PostgreSQL and Redis {ms(totals['servers_cpu'])} more; CPUs idle "
            f"{totals['idle'] / (totals['issue_wall'] * os.cpu_count()):.0%} of the time; "
            f"PDFs stored: {stored}; "
            f"credentials verified: {sum(1 for _ in checked)} sampled, all valid: {signatures_ok}"
        )
        print(
            f"baseline bare WeasyPrint, same HTML, 2 processes: {bare_rate:,.0f}/min, "
            f"CPU {ms(totals['bare_cpu'])} a certificate"
        )
        print(
            f"issue end to end is {rate / bare_rate:.2f}× the baseline (target ≥ {TARGET_RATIO}); "
            f"by CPU time a certificate: {totals['bare_cpu'] / totals['issue_cpu']:.2f}×"
        )
        print(
            f"for information, the service's own render_pdf, 2 processes: {own_rate:,.0f}/min "
            f"({own_rate / bare_rate:.2f}× bare WeasyPrint), CPU {ms(totals['own_cpu'])}"
        )
        return 0 if stored == count and signatures_ok else 1
    finally:
        if pool is not None:
            pool.terminate()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        import redis

        queue = run["queue"]
        redis.Redis.from_url(run["env"]["CELERY_BROKER_URL"]).delete(
            queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
        )
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
