"""Other LMSs retrying in parallel: one learner per external id, each event applied once.

PostgreSQL with real threads, as in :mod:`tests.courses.test_concurrency`.
"""

import uuid

import pytest

from courses import ingest
from courses.models import Enrolment, ModuleCompletion, ModulePage, ProgressEvent
from lms import services as lms_services
from lms.models import LearnerIdentity
from tests.courses.test_concurrency import THREADS, needs_postgresql, run_in_parallel  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_parallel_creations_of_one_external_id_make_one_learner(institution_a):
    results = [None] * THREADS

    def create(index):
        results[index] = lms_services.learner_match_or_create(
            institution=institution_a,
            external_id="moodle-7",
            full_name="Achieng Otieno",
            cadre="volunteer",
            sector="community",
        )

    assert run_in_parallel(create) == [None] * THREADS
    assert LearnerIdentity.objects.filter(external_id="moodle-7").count() == 1
    assert len({result.identity.user_id for result in results}) == 1
    assert sum(result.created for result in results) == 1


def test_two_batches_racing_apply_each_event_once(institution_a, course):
    learner = lms_services.learner_match_or_create(
        institution=institution_a,
        external_id="moodle-8",
        full_name="Baraka Mwangi",
        cadre="volunteer",
        sector="community",
    ).identity.user
    first, second = ModulePage.objects.child_of(course).order_by("path")
    batch = [
        {"verb": "enrolled", "course_id": course.pk},
        {"verb": "completed", "module_id": first.pk},
        {"verb": "passed", "module_id": second.pk},
    ]
    batch = [{"id": str(uuid.uuid4()), "learner": "moodle-8", **e} for e in batch]
    results = [None] * 2

    def send(index):
        results[index] = ingest.progress_batch_record(institution=institution_a, events=batch)

    assert run_in_parallel(send, count=2) == [None, None]
    for position in range(len(batch)):
        statuses = sorted(result[position].status for result in results)
        assert statuses == ["applied", "duplicate"], results
    assert ProgressEvent.objects.filter(learner=learner).count() == 3
    assert Enrolment.objects.filter(learner=learner).count() == 1
    assert ModuleCompletion.objects.filter(learner=learner).count() == 2
