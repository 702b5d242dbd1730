"""Benchmark: the regulator's workspace and API on one large jurisdiction.

Run:  make bench-regulator      (PostgreSQL at DATABASE_URL)

Sets up a fresh database (``BENCH_DB_NAME``, default ``test_bench_regulator``) holding one
jurisdiction (Kenya) of ``BENCH_WORKERS`` workers (default 100,000) in 10 regions, 20
institutions each with a course, ``BENCH_CERTIFICATES`` certificates (default 300,000),
``BENCH_EVENTS`` progress events (default 3,000,000), enrolments and competency attainments,
written with PostgreSQL's COPY, then ``VACUUM ANALYZE``. Then it requests, in this process
with Django's test client (a single client, one request at a time), each workspace page, export
and API call ``BENCH_REPEAT`` times (default 20, after 2 not counted) and prints p50 and p95
twice: "counted", every page's numbers read afresh from the figures counted ahead (the
summary tables of :mod:`regulation.counting`, as the first request of a new filter
combination reads them), and "kept", the page's numbers kept from the request before
(:mod:`regulation.figures_cache`). The 300 ms target is checked on the "counted" figures.
Before, it times the count itself (what the beat does every few minutes), three times.

The baseline, measured in the same run on the same data: for each view, a plain SQL
``GROUP BY`` (or search) on the source tables that gives the view's main numbers, timed the
same way; the ratio is "counted" p95 / baseline p95.

``BENCH_SCALE`` (e.g. 0.1) scales every count down together, for a quicker run.
"""

import datetime
import gc
import os
import random
import statistics
import sys
import time
import uuid

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
WORKERS = int(int(os.environ.get("BENCH_WORKERS", "100000")) * SCALE)
CERTIFICATES = int(int(os.environ.get("BENCH_CERTIFICATES", "300000")) * SCALE)
EVENTS = int(int(os.environ.get("BENCH_EVENTS", "3000000")) * SCALE)
INSTITUTIONS = 20
REGIONS = [
    "Nairobi", "Mombasa", "Kisumu", "Nakuru", "Kiambu",
    "Turkana", "Garissa", "Kakamega", "Machakos", "Nyeri",
]  # fmt: skip
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
#: The plain SQL baselines (seconds each at full scale): fewer.
REPEAT_COUNTED = int(os.environ.get("BENCH_REPEAT_COUNTED", "5"))
WARM = 2
TARGET_MS = 300


def copy_rows(table: str, columns: list[str], rows) -> int:
    """COPY ``rows`` (tuples) into ``table``; how many."""
    from django.db import connection

    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3's cursor, for COPY
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def seed() -> dict:
    """The jurisdiction; returns what the measurements need."""
    from django.contrib.auth import get_user_model
    from wagtail.models import Page, Site

    from certificates.models import CertificateTemplate
    from competencies import demo as competencies_demo
    from competencies import services as competency_services
    from competencies.models import CompetencyItem, ScaleLevel
    from courses import demo as courses_demo
    from courses.models import CourseIndexPage
    from courses.services import institution_page_create
    from lms import services as lms_services
    from regulation import services as regulation_services

    rng = random.Random(7)  # noqa: S311 - bench data, not secrets
    now = datetime.datetime.now(datetime.UTC)
    today = now.date()
    root = Page.get_first_root_node()
    catalogue = CourseIndexPage(title="Courses", slug="courses")
    root.add_child(instance=catalogue)
    site = Site.objects.get(is_default_site=True)
    site.root_page = catalogue
    site.save()
    owner = lms_services.institution_create(name="Bench owner", slug="bench-owner", country="KE")
    institution_page_create(institution=owner, catalogue=catalogue)
    framework = competency_services.framework_publish(
        framework=competency_services.framework_import(
            data=competencies_demo.para_professional_data(creator="Bench"),
            owner_institution=owner,
        )
    )
    institutions, courses, templates = [], [], []
    for n in range(INSTITUTIONS):
        institution = lms_services.institution_create(
            name=f"Institute {n + 1}", slug=f"institute-{n + 1}", country="KE"
        )
        institution_page_create(institution=institution, catalogue=catalogue)
        institution.refresh_from_db()
        courses.append(courses_demo.seed_course(institution=institution, framework=framework))
        templates.append(
            CertificateTemplate.objects.create(
                institution=institution, name="Standard", signatory_name="S", signatory_title="T"
            )
        )
        institutions.append(institution)
    body = regulation_services.body_create(name="Kenya Council", slug="kenya", country="KE")
    regulator = get_user_model().objects.create(username="bench-regulator")
    regulation_services.regulator_add(user=regulator, body=body)
    lines = ["region,total_population,children_under_18"] + [
        f"{region},{rng.randrange(1_000_000, 5_000_000)},{rng.randrange(400_000, 900_000)}"
        for region in REGIONS
    ]
    regulation_services.population_replace(body=body, content="\n".join(lines).encode())
    regulation_services.target_set(body=body, children_per_worker=1000)
    regulation_services.requirement_create(
        body=body,
        created_by=regulator,
        title="Annual CPD",
        cadre="para_professional",
        hours=20,
        period_start=today.replace(month=1, day=1),
        period_end=today.replace(month=12, day=31),
    )

    started = time.perf_counter()
    first_user = get_user_model().objects.order_by("-pk").values_list("pk", flat=True)[0] + 1
    copy_rows(
        "auth_user",
        [
            "id",
            "password",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
        ],  # fmt: skip
        (
            (first_user + n, "!", False, f"w{n:06d}", "", "", "", False, True, now)
            for n in range(WORKERS)
        ),
    )
    users = range(first_user, first_user + WORKERS)
    cadres = ["professional", "para_professional", "volunteer"]
    sectors = ["government", "ngo", "community"]
    region_of = {u: REGIONS[rng.randrange(len(REGIONS))] for u in users}
    copy_rows(
        "lms_learnerprofile",
        [
            "user_id",
            "full_name",
            "cadre",
            "is_paid",
            "sector",
            "organisation",
            "country",
            "region",
            "district",
            "worker_registration_number",
            "preferred_language",
            "listed_in_register",
            "updated_at",
        ],  # fmt: skip
        (
            (
                u,
                f"Worker {u}",
                cadres[u % 3],
                u % 2 == 0,
                sectors[u % 5 % 3],
                "",
                "KE",
                region_of[u],
                f"{region_of[u]} {u % 4}",
                f"KE-{u:07d}",
                "en",
                u % 3 == 0,
                now,
            )
            for u in users
        ),  # fmt: skip
    )
    # The table's own sequence goes on after the rows written with their ids.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('auth_user_id_seq', (SELECT max(id) FROM auth_user))")
    enrolled = {}
    enrolment_rows = []
    for u in users:
        if rng.random() < 0.85:
            course = courses[rng.randrange(INSTITUTIONS)]
            at = now - datetime.timedelta(days=rng.randrange(1, 900))
            done = rng.random() < 0.7
            enrolled[u] = course
            enrolment_rows.append(
                (u, course.pk, "completed" if done else "active", at,
                 at + datetime.timedelta(days=20) if done else None)
            )  # fmt: skip
    copy_rows(
        "courses_enrolment",
        ["learner_id", "course_id", "status", "enrolled_at", "completed_at"],
        enrolment_rows,
    )
    learners = list(enrolled)

    def certificate_rows():
        for n in range(CERTIFICATES):
            learner = learners[n % len(learners)]
            k = rng.randrange(INSTITUTIONS)
            issued = now - datetime.timedelta(days=rng.randrange(1, 1000))
            revoked = rng.random() < 0.03
            yield (
                uuid.uuid4(), f"B{n:016d}", learner, courses[k].pk, f"v{n}", institutions[k].pk,
                templates[k].pk, "revoked" if revoked else "active", "automatic",
                f"Worker {learner}", courses[k].title, institutions[k].name, "", "", "", "[]",
                "en", issued, (issued + datetime.timedelta(days=730)).date(), 1, "ready", 1, "",
                "", n, issued if revoked else None, "", 0, issued,
            )  # fmt: skip

    copy_rows(
        "certificates_certificate",
        [
            "uuid",
            "code",
            "learner_id",
            "course_id",
            "course_version",
            "institution_id",
            "template_id",
            "state",
            "method",
            "holder_name",
            "course_title",
            "institution_name",
            "framework_title",
            "framework_version",
            "framework_identifier",
            "competencies",
            "language",
            "issued_at",
            "valid_until",
            "version",
            "render_status",
            "rendered_version",
            "render_error",
            "pdf",
            "status_list_index",
            "revoked_at",
            "revocation_reason",
            "verification_count",
            "created_at",
        ],  # fmt: skip
        certificate_rows(),
    )
    modules = {c.pk: list(c.get_children().values_list("pk", flat=True)) for c in courses}

    def event_rows():
        for n in range(EVENTS):
            learner = learners[n % len(learners)]
            course = enrolled[learner]
            yield (
                uuid.uuid4(), learner, "completed" if n % 3 else "progressed", "module",
                course.pk, modules[course.pk][n % len(modules[course.pk])],
                now - datetime.timedelta(minutes=n), now, "web", "{}",
            )  # fmt: skip

    copy_rows(
        "courses_progressevent",
        [
            "event_id",
            "learner_id",
            "verb",
            "object_type",
            "course_id",
            "module_id",
            "occurred_at",
            "recorded_at",
            "source",
            "extra",
        ],  # fmt: skip
        event_rows(),
    )
    competencies = list(
        CompetencyItem.objects.filter(framework=framework, kind="competency").values_list(
            "pk", flat=True
        )
    )
    level = ScaleLevel.objects.get(framework=framework, is_proficient=True)
    copy_rows(
        "competencies_competencyattainment",
        ["learner_id", "competency_id", "framework_id", "level_id", "since", "via"],
        (
            (learner, item, framework.pk, level.pk, now, "direct")
            for learner in learners
            for item in competencies
            if rng.random() < 0.5
        ),
    )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        for table in (
            "auth_user",
            "lms_learnerprofile",
            "courses_enrolment",
            "certificates_certificate",
            "courses_progressevent",
            "competencies_competencyattainment",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"Seeded {WORKERS:,} workers, {len(enrolment_rows):,} enrolments, "
        f"{CERTIFICATES:,} certificates, {EVENTS:,} progress events in {seconds:.0f} s "
        f"(COPY), then VACUUM ANALYZE"
    )
    return {"body": body, "regulator": regulator, "framework": framework, "some": learners[7]}


def timings(call, repeat: int = REPEAT) -> tuple[float, float]:
    """(p50, p95) in ms of ``call()`` over ``repeat`` runs, after WARM not counted."""
    for _ in range(WARM):
        call()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def sql(query: str, params=()):
    """The statements of ``query`` (separated by ";"), run one after the other."""
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            for statement in query.split(";"):
                cursor.execute(statement, params if "%s" in statement else ())
                cursor.fetchall()

    return run


JURISDICTION = "SELECT user_id, region FROM lms_learnerprofile WHERE country = 'KE'"
BY_REGION = """
    SELECT p.region, count(*) FROM lms_learnerprofile p WHERE p.country = 'KE' GROUP BY 1;
    SELECT p.region, count(DISTINCT e.learner_id),
      count(DISTINCT e.learner_id) FILTER (WHERE e.completed_at IS NOT NULL)
    FROM courses_enrolment e JOIN lms_learnerprofile p ON p.user_id = e.learner_id
    WHERE p.country = 'KE' GROUP BY 1;
    SELECT p.region, count(DISTINCT c.learner_id) FILTER (WHERE c.state <> 'revoked'),
      count(DISTINCT c.learner_id) FILTER (WHERE c.state <> 'revoked'
        AND (c.valid_until IS NULL OR c.valid_until >= CURRENT_DATE))
    FROM certificates_certificate c JOIN lms_learnerprofile p ON p.user_id = c.learner_id
    WHERE p.country = 'KE' GROUP BY 1
"""
HEAT = f"""
    SELECT q.region, a.competency_id, count(DISTINCT a.learner_id)
    FROM competencies_competencyattainment a JOIN ({JURISDICTION}) q ON q.user_id = a.learner_id
    WHERE a.framework_id = %s GROUP BY q.region, a.competency_id
"""
VALID_BY_REGION = f"""
    SELECT q.region, count(DISTINCT c.learner_id) FROM certificates_certificate c
    JOIN ({JURISDICTION}) q ON q.user_id = c.learner_id
    WHERE c.state <> 'revoked' AND (c.valid_until IS NULL OR c.valid_until >= CURRENT_DATE)
    GROUP BY q.region
"""
MONTHS = """
    SELECT date_trunc('month', c.issued_at), count(*) FROM certificates_certificate c
    JOIN lms_learnerprofile p ON p.user_id = c.learner_id
    WHERE p.country = 'KE' AND c.issued_at >= now() - interval '1 year' GROUP BY 1
"""
SEARCH = """
    SELECT p.full_name FROM lms_learnerprofile p WHERE p.country = 'KE'
    AND p.worker_registration_number = %s
"""
CPD = """
    SELECT e.learner_id, sum(cp.cpd_hours) FROM courses_enrolment e
    JOIN courses_coursepage cp ON cp.page_ptr_id = e.course_id
    JOIN lms_learnerprofile p ON p.user_id = e.learner_id
    WHERE p.country = 'KE' AND p.cadre = 'para_professional' AND e.completed_at IS NOT NULL
    GROUP BY e.learner_id
"""


def measure(seeded: dict) -> list[tuple]:
    from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.conf import settings
    from django.test import Client

    from regulation import counting, figures_cache, services

    settings.REGULATION_FIGURES_SECONDS = figures_cache.DEFAULT_SECONDS  # as in production
    # What a served worker does once loaded (lms/wsgi.py): the collector leaves alone what
    # is already here, here also the seeding's objects, which no web worker holds.
    gc.collect()
    gc.freeze()
    for run in range(3):
        started = time.perf_counter()
        counting.figures_count(country="KE")
        print(f"Count of the figures ahead (the beat's task), run {run + 1}: "
              f"{time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    regulator, framework = seeded["regulator"], seeded["framework"]
    TOTP.activate(regulator, generate_totp_secret())
    client = Client()
    client.force_login(regulator)
    session = client.session
    authenticator = Authenticator.objects.get(user=regulator)
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "mfa", "at": time.time(), "id": authenticator.pk, "type": authenticator.type}
    ]
    session.save()
    _key, secret = services.regulator_api_key_create(
        body=seeded["body"], name="bench", created_by=regulator
    )
    api = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    number = f"KE-{seeded['some']:07d}"
    requirement = seeded["body"].cpd_requirements.get()

    def get(url, **headers):
        def run():
            response = client.get(url, **headers)
            assert response.status_code == 200, (url, response.status_code)

        return run

    def public(url):
        anonymous = Client()

        def run():
            from django.core.cache import cache

            cache.clear()  # the bench is one client: not rate-limited
            assert anonymous.get(url).status_code == 200

        return run

    cases = [
        ("workspace, by region", get("/regulation/"), sql(BY_REGION)),
        ("workspace, one region", get("/regulation/?region=Kisumu&group=district"), sql(BY_REGION)),
        ("workspace, by institution", get("/regulation/?group=institution"), sql(BY_REGION)),
        ("heat map", get(f"/regulation/heat-map/?framework={framework.pk}"),
         sql(HEAT, [framework.pk])),
        ("planning", get("/regulation/planning/"), sql(VALID_BY_REGION)),
        ("export statistics CSV", get("/regulation/export/statistics.csv"), sql(BY_REGION)),
        ("export months XLSX", get("/regulation/export/months.xlsx"), sql(MONTHS)),
        ("CPD who is behind", get(f"/regulation/cpd/?requirement={requirement.pk}"), sql(CPD)),
        ("public register search", public(f"/register/kenya/?q={number}"),
         sql(SEARCH, [number])),
        ("API statistics", get("/api/v1/regulation/statistics", **api), sql(BY_REGION)),
        ("API register search", get(f"/api/v1/regulation/register?q={number}", **api),
         sql(SEARCH, [number])),
        ("API CPD status", get(f"/api/v1/regulation/cpd/{number}", **api),
         sql(SEARCH, [number])),
    ]  # fmt: skip
    results = []
    body = seeded["body"]

    def cold(view):
        def run():
            figures_cache.forget(body)  # nothing kept: every number read from the summary
            view()

        return run

    for name, view, baseline in cases:
        cold_p50, cold_p95 = timings(cold(view))
        view_p50, view_p95 = timings(view)
        base_p50, base_p95 = timings(baseline, REPEAT_COUNTED)
        ratio = cold_p95 / max(base_p95, 0.001)
        results.append((name, cold_p50, cold_p95, base_p95, ratio))
        print(
            f"{name:<27} counted p50 {cold_p50:7.0f} p95 {cold_p95:7.0f} ms | kept p50 "
            f"{view_p50:6.1f} p95 {view_p95:6.1f} ms | SQL p95 {base_p95:7.1f} ms, "
            f"counted/SQL {ratio:5.2f} | {'OK' if cold_p95 < TARGET_MS else 'OVER 300 ms'}",
            flush=True,
        )
    return results


def main() -> int:
    django.setup()
    from django.db import connection

    # No setup_test_environment(): its template instrumentation would be timed with the
    # pages (the test settings already allow the test client's host and keep mail local).
    if connection.vendor != "postgresql":
        print("The regulator bench needs PostgreSQL (DATABASE_URL=postgres://…).")
        return 2
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = os.environ.get(
        "BENCH_DB_NAME", "test_bench_regulator"
    )
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        print(f"Database: {connection.vendor} ({test_db}); scale {SCALE}")
        seeded = seed()
        results = measure(seeded)
        over = [name for name, _p50, p95, _b, _r in results if p95 >= TARGET_MS]
        print(f"{len(results) - len(over)} of {len(results)} under {TARGET_MS} ms at p95" + (
            f"; over: {', '.join(over)}" if over else ""))  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
