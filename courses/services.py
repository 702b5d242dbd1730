"""Writes of the courses app: the door other apps and the views use.

The writes themselves live by responsibility: :mod:`courses.progress` (progress events, with
enrolment, module completion and quizzes), :mod:`courses.enrolment` (cohorts and learner
files), :mod:`courses.supervision` (observations and recognised prior learning). Competency
evidence is recorded through ``competencies.services``; certificates hear of progress through
:mod:`courses.signals`.
"""

from django.db import transaction

from courses.enrolment import (
    COHORT_ENROLMENT_NAMESPACE,
    CohortEnrolment,
    CohortImport,
    CohortImportError,
    NewAccount,
    cohort_create,
    cohort_enrol,
    cohort_learners_import,
)
from courses.errors import LearningError, ProgressWriteClash
from courses.models import CourseIndexPage, InstitutionPage
from courses.progress import (
    CLASH_ATTEMPTS,
    NewProgressEvent,
    QuizResult,
    RecordedEvent,
    enrol,
    module_complete,
    progress_event_record,
    progress_event_record_or_clash,
    progress_events_record,
    progress_events_record_or_clash,
    quiz_submit,
)
from courses.supervision import (
    observation_record,
    observation_record_for_institution,
    prior_learning_record,
)
from lms.models import Institution
from lms.services import institution_root_page_set

__all__ = [
    "CLASH_ATTEMPTS",
    "COHORT_ENROLMENT_NAMESPACE",
    "CohortEnrolment",
    "CohortImport",
    "CohortImportError",
    "LearningError",
    "NewAccount",
    "NewProgressEvent",
    "ProgressWriteClash",
    "QuizResult",
    "RecordedEvent",
    "cohort_create",
    "cohort_enrol",
    "cohort_learners_import",
    "enrol",
    "institution_page_create",
    "module_complete",
    "observation_record",
    "observation_record_for_institution",
    "prior_learning_record",
    "progress_event_record",
    "progress_event_record_or_clash",
    "progress_events_record",
    "progress_events_record_or_clash",
    "quiz_submit",
]


@transaction.atomic
def institution_page_create(
    *, institution: Institution, catalogue: CourseIndexPage, intro: str = ""
) -> InstitutionPage:
    """Give an institution its section of the catalogue and make it its staff's working area."""
    page = InstitutionPage(
        title=institution.name, slug=institution.slug, institution=institution, intro=intro
    )
    catalogue.add_child(instance=page)
    page.save_revision().publish()
    institution_root_page_set(institution=institution, page=page)
    return page
