"""Parallel requests never create two completions or two enrolments (PostgreSQL, real threads)."""

import threading
import uuid

import pytest
from django.db import connections

from courses import services
from courses.models import Enrolment, ModuleCompletion, ModulePage, ProgressEvent
from tests.services import require_postgresql

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
THREADS = 12


@pytest.fixture(autouse=True)
def needs_postgresql():
    require_postgresql()


def run_in_parallel(target, count=THREADS):
    """Start ``count`` threads at the same moment; return what each raised (or None)."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def worker(index):
        try:
            barrier.wait()
            target(index)
        except Exception as error:  # noqa: BLE001 - reported to the test
            outcomes[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_many_threads_submitting_the_same_completion(trainee, course):
    module = ModulePage.objects.child_of(course).order_by("path").first()
    services.enrol(learner=trainee, course=course)
    event_id = uuid.uuid4()
    outcomes = run_in_parallel(
        lambda i: services.module_complete(learner=trainee, module=module, event_id=event_id)
    )
    assert outcomes == [None] * THREADS
    assert ProgressEvent.objects.filter(event_id=event_id).count() == 1
    assert ModuleCompletion.objects.filter(learner=trainee, module=module).count() == 1


def test_many_threads_completing_with_different_event_ids(trainee, course):
    module = ModulePage.objects.child_of(course).order_by("path").first()
    services.enrol(learner=trainee, course=course)
    outcomes = run_in_parallel(
        lambda i: services.module_complete(learner=trainee, module=module, event_id=uuid.uuid4())
    )
    assert outcomes == [None] * THREADS
    # Every report is kept in the log; the derived completion exists once.
    assert ProgressEvent.objects.filter(learner=trainee, verb="completed").count() == THREADS
    assert ModuleCompletion.objects.filter(learner=trainee, module=module).count() == 1


def test_parallel_enrolments_make_one(trainee, course):
    outcomes = run_in_parallel(lambda i: services.enrol(learner=trainee, course=course))
    assert outcomes == [None] * THREADS
    assert Enrolment.objects.filter(learner=trainee, course=course).count() == 1
