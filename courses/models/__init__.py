"""Course catalogue pages and the learning records hung on them.

The page tree is: ``CourseIndexPage`` (the catalogue, usually the site's home) →
``InstitutionPage`` (one institution's section: its staff's Wagtail permissions are granted
here, so they see and edit only their own courses) → ``CoursePage`` → ``ModulePage``.

Learning records (enrolments, completions, quiz attempts) point at pages by id and remember
the revision the learner saw, so republishing a course never breaks anyone's progress.
``ProgressEvent`` is the append-only log; the other records are derived from it in the same
transaction by :mod:`courses.services`.
"""

from courses.models.documents import XapiDocument, XapiDocumentKind
from courses.models.lrs import (
    XapiAttachment,
    XapiKeyKind,
    XapiProgressStatus,
    XapiStatement,
    XapiStatementKey,
    xapi_attachment_path,
)
from courses.models.pages import (
    CourseIndexPage,
    CoursePage,
    InstitutionPage,
    ModuleCompetency,
    ModulePage,
)
from courses.models.records import (
    Cohort,
    Enrolment,
    EnrolmentStatus,
    ModuleCompletion,
    ObjectType,
    Observation,
    ProgressEvent,
    ProgressSource,
    ProgressVerb,
    QuizAttempt,
)

__all__ = [
    "Cohort",
    "CourseIndexPage",
    "CoursePage",
    "Enrolment",
    "EnrolmentStatus",
    "InstitutionPage",
    "ModuleCompetency",
    "ModuleCompletion",
    "ModulePage",
    "ObjectType",
    "Observation",
    "ProgressEvent",
    "ProgressSource",
    "ProgressVerb",
    "QuizAttempt",
    "XapiAttachment",
    "XapiDocument",
    "XapiDocumentKind",
    "XapiKeyKind",
    "XapiProgressStatus",
    "XapiStatement",
    "XapiStatementKey",
    "xapi_attachment_path",
]
