"""Counts of the same country at the same moment never duplicate or lose a worker's figures
(PostgreSQL, real threads)."""

import pytest

from regulation import counting
from regulation.models import CertificateFigures, FiguresCount, WorkerFigures
from tests.courses.test_concurrency import run_in_parallel
from tests.regulation.conftest import certify, days, enrol, make_worker
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
THREADS = 4


@pytest.fixture(autouse=True)
def needs_postgresql():
    require_postgresql()


def test_counts_of_one_country_at_once_leave_each_worker_counted_once(course, institution_a):
    for n in range(5):
        worker = make_worker(f"w{n}", region="Nairobi")
        enrol(worker, course)
        certify(worker, course, institution_a, valid_until=days(30))
    outcomes = run_in_parallel(lambda i: counting.figures_count(country="KE"), THREADS)
    assert outcomes == [None] * THREADS
    assert WorkerFigures.objects.filter(country="KE").count() == 5
    assert CertificateFigures.objects.filter(country="KE").count() == 5
    assert FiguresCount.objects.filter(country="KE").count() == 1
