"""The workforce figures counted ahead, into summary tables the workspace reads.

Counting a large jurisdiction's statistics from its enrolments, certificates and
attainments takes seconds, too long for a page. :func:`figures_count` counts a country's
figures once into the summary tables (``SUMMARIES``: each worker once, each worker at each
institution, each certificate, and the workers proficient in each competency), in one
transaction so that pages read either the old figures or the new, never half of
each. The beat counts every body's country every few minutes
(:func:`regulation.tasks.count_all_figures`), and :func:`figures_as_of` asks for a count
when a page finds the figures older than ``REGULATION_FIGURES_SECONDS``; every page says
when its figures were counted. With ``REGULATION_FIGURES_SECONDS = 0`` the figures are
counted within each request (the tests, and the embedded default, which runs no beat).

The two largest tables are filled by ``INSERT … SELECT`` written for both databases the
project runs on (SQLite and PostgreSQL), through Django's public ``connection.cursor()``;
the competency table, a few thousand rows at most, through the ORM.
"""

import datetime
import time

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from certificates.models import Certificate, CertificateState
from competencies import selectors as competency_selectors
from courses import selectors as course_selectors
from courses.models import Enrolment
from lms import selectors as lms_selectors
from lms.jurisdiction import Jurisdiction
from lms.models import LearnerProfile
from regulation import figures_cache, selectors
from regulation.models import (
    CertificateFigures,
    CompetencyFigures,
    FiguresCount,
    InstitutionWorkerFigures,
    RegulatoryBody,
    WorkerFigures,
)

#: Seconds a page waits before it asks again for a count it has already asked for.
ASKED_SECONDS = 300
DIMENSIONS = ("country", "region", "district", "cadre", "sector", "is_paid")
SUMMARIES = (WorkerFigures, InstitutionWorkerFigures, CertificateFigures, CompetencyFigures)


def figures_as_of(*, body: RegulatoryBody) -> datetime.datetime:
    """When the figures the body's pages show were counted.

    Counted now, within the request, when the country has never been counted or when
    ``REGULATION_FIGURES_SECONDS`` is 0; when they are older than that, a count is asked of
    Celery (once in :data:`ASKED_SECONDS`) and the page shows the figures it has."""
    found = FiguresCount.objects.filter(country=body.country).first()
    keep = figures_cache.seconds()
    if found is None or found.counted_at is None or not keep:
        return figures_count(country=body.country).counted_at
    if timezone.now() - found.counted_at > datetime.timedelta(seconds=keep) and cache.add(
        f"regulation:counting:{body.country}", True, ASKED_SECONDS
    ):
        from regulation import tasks

        transaction.on_commit(lambda: tasks.count_figures.delay(body.country))
    return found.counted_at


def figures_count(*, country: str) -> FiguresCount:
    """Count ``country``'s figures afresh into the summary tables (one count at a time per
    country: the row of :class:`FiguresCount` is locked for it)."""
    started = time.perf_counter()
    with transaction.atomic():
        FiguresCount.objects.get_or_create(country=country)
        count = FiguresCount.objects.select_for_update().get(country=country)
        for model in SUMMARIES:
            model.objects.filter(country=country).delete()
        _workers_insert_across_institutions(country)
        _workers_insert_by_institution(country)
        _certificates_insert(country)
        _competencies_insert(country)
        count.places = _places(country)
        count.counted_at = timezone.now()
        count.seconds = time.perf_counter() - started
        count.save(update_fields=["places", "counted_at", "seconds"])
        bodies = list(RegulatoryBody.objects.filter(country=country))
        transaction.on_commit(lambda: [figures_cache.forget(body) for body in bodies])
    _replaced_rows_reclaim()
    return count


def _replaced_rows_reclaim() -> None:
    """On PostgreSQL, reclaim the rows a count replaced, mark the new ones as seen by every
    transaction and give the planner their statistics (``VACUUM (ANALYZE)``) at once, rather
    than when autovacuum comes by: until then each page also reads the replaced rows and
    pays for the first look at the new ones, about twice the time. ``VACUUM`` cannot run
    inside a transaction, so a count made inside one (a test's) leaves them to autovacuum;
    SQLite keeps no replaced rows."""
    if connection.vendor != "postgresql" or not transaction.get_autocommit():
        return
    with connection.cursor() as cursor:
        for model in SUMMARIES:
            cursor.execute(f"VACUUM (ANALYZE) {_table(model)}")


def regions_of(*, body: RegulatoryBody) -> list[str]:
    """The regions the jurisdiction's workers named at the last count, and those of the
    body's population figures: the choices of the region filter."""
    named = {region for region, _district in _places_of(body) if region}
    named.update(selectors.population_figures(body=body).values_list("region", flat=True))
    return sorted(named)


def districts_of(*, body: RegulatoryBody) -> list[str]:
    """The districts the jurisdiction's workers named at the last count."""
    return sorted({district for _region, district in _places_of(body) if district})


def _places_of(body: RegulatoryBody) -> list:
    count = FiguresCount.objects.filter(country=body.country).first()
    places = count.places if count else []
    return [(r, d) for r, d in places if not body.regions or r in body.regions]


def _places(country: str) -> list[list[str]]:
    profiles = lms_selectors.learner_profiles_in(jurisdiction=Jurisdiction(country=country))
    return sorted([r, d] for r, d in profiles.values_list("region", "district").distinct())


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _milestones(institution_of_course: str) -> str:
    """Each enrolment and each certificate not revoked of everyone, one row each, with the
    institution they belong to: the rows a worker's first dates are taken from."""
    return f"""
        SELECT learner_id, {institution_of_course} AS institution_id, enrolled_at,
               completed_at, NULL AS issued_at, NULL AS valid_until, 0 AS open_ended
        FROM {_table(Enrolment)}
        UNION ALL
        SELECT learner_id, institution_id, NULL, NULL, issued_at, valid_until,
               CASE WHEN valid_until IS NULL THEN 1 ELSE 0 END
        FROM {_table(Certificate)} WHERE state <> %s
    """  # noqa: S608 - table names and placeholders only


_WORKER_COLUMNS = (
    "learner_id, country, region, district, cadre, sector, is_paid, "
    "enrolled_at, completed_at, certified_at, valid_until, valid_open"
)
_WORKER_VALUES = (
    "p.country, p.region, p.district, p.cadre, p.sector, p.is_paid, MIN(x.enrolled_at), "
    "MIN(x.completed_at), MIN(x.issued_at), MAX(x.valid_until), "
    "COALESCE(MAX(x.open_ended), 0) = 1"
)
_PROFILE_GROUP = "p.user_id, p.country, p.region, p.district, p.cadre, p.sector, p.is_paid"


def _workers_insert_across_institutions(country: str) -> None:
    """A row for every worker of the country, with their first dates at any institution."""
    sql = f"""
        INSERT INTO {_table(WorkerFigures)} ({_WORKER_COLUMNS})
        SELECT p.user_id, {_WORKER_VALUES}
        FROM {_table(LearnerProfile)} p
        LEFT JOIN ({_milestones("NULL")}) x ON x.learner_id = p.user_id
        WHERE p.country = %s
        GROUP BY {_PROFILE_GROUP}
    """  # noqa: S608 - table names and placeholders only
    with connection.cursor() as cursor:
        cursor.execute(sql, [CertificateState.REVOKED, country])


def _workers_insert_by_institution(country: str) -> None:
    """A row for each worker and each of the country's institutions they enrolled at or
    were certified by, with their first dates there."""
    case, case_params = _institution_of_course(country)
    sql = f"""
        INSERT INTO {_table(InstitutionWorkerFigures)} (institution_id, {_WORKER_COLUMNS})
        SELECT x.institution_id, p.user_id, {_WORKER_VALUES}
        FROM {_table(LearnerProfile)} p
        JOIN ({_milestones(case)}) x ON x.learner_id = p.user_id
        WHERE p.country = %s AND x.institution_id IS NOT NULL
        GROUP BY {_PROFILE_GROUP}, x.institution_id
    """  # noqa: S608 - table names and placeholders only
    with connection.cursor() as cursor:
        cursor.execute(sql, [*case_params, CertificateState.REVOKED, country])


def _institution_of_course(country: str) -> tuple[str, list]:
    """A SQL ``CASE`` giving the institution of an enrolment's course (the country's
    institutions' live courses; NULL for any other), with its parameters."""
    whens, params = [], []
    for institution in lms_selectors.institutions_in(country=country):
        courses = list(
            course_selectors.institution_courses(institution=institution).values_list(
                "pk", flat=True
            )
        )
        if courses:
            whens.append(f"WHEN course_id IN ({', '.join(['%s'] * len(courses))}) THEN %s")
            params += [*courses, institution.pk]
    if not whens:
        return "NULL", []
    return f"CASE {' '.join(whens)} ELSE NULL END", params


def _certificates_insert(country: str) -> None:
    """Every certificate of the country's workers, revoked ones included."""
    sql = f"""
        INSERT INTO {_table(CertificateFigures)} (certificate_id, institution_id, country,
            region, district, cadre, sector, is_paid, issued_at, revoked_at, expires_on)
        SELECT c.id, c.institution_id, p.country, p.region, p.district, p.cadre, p.sector,
               p.is_paid, c.issued_at,
               CASE WHEN c.state = %s THEN c.revoked_at ELSE NULL END,
               CASE WHEN c.state = %s THEN NULL ELSE c.valid_until END
        FROM {_table(Certificate)} c
        JOIN {_table(LearnerProfile)} p ON p.user_id = c.learner_id
        WHERE p.country = %s
    """  # noqa: S608 - table names and placeholders only
    with connection.cursor() as cursor:
        cursor.execute(sql, [CertificateState.REVOKED, CertificateState.REVOKED, country])


def _competencies_insert(country: str) -> None:
    """For each framework of the country and each profile cell: the workers proficient in
    each competency."""
    profile = "learner__learner_profile__"
    for framework in competency_selectors.published_frameworks(
        jurisdiction=Jurisdiction(country=country)
    ):
        cells = (
            competency_selectors.proficient_attainments(framework=framework)
            .filter(**{f"{profile}country": country})
            .values("competency_id", **{name: F(f"{profile}{name}") for name in DIMENSIONS[1:]})
            .annotate(n=Count("learner_id", distinct=True))
            .order_by()
        )
        CompetencyFigures.objects.bulk_create(
            (
                CompetencyFigures(
                    framework=framework,
                    competency_id=cell["competency_id"],
                    country=country,
                    workers=cell["n"],
                    **{name: cell[name] for name in DIMENSIONS[1:]},
                )
                for cell in cells
            ),
            batch_size=1000,
        )
