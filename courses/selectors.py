"""Reads of the courses app: the catalogue, a learner's progress, quiz scoring."""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth import get_user_model
from django.db import connection, router
from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext as _
from wagtail.models import Page

from competencies.models import FrameworkStatus
from competencies.selectors import attainment_grid
from courses import translations
from courses.caches import STRUCTURE
from courses.errors import LearningError
from courses.models import (
    Cohort,
    CoursePage,
    Enrolment,
    EnrolmentStatus,
    InstitutionPage,
    ModuleCompetency,
    ModuleCompletion,
    ModulePage,
    Observation,
    ProgressEvent,
    QuizAttempt,
    XapiStatement,
)
from lms import selectors as lms_selectors
from lms.models import Cadre, Institution, LearnerIdentity
from lms.raw_sql import column_values, lock_clause, placeholders
from lms.roles import InstitutionRole

# --- Catalogue ----------------------------------------------------------------------------


@dataclass
class CatalogueFilters:
    cadre: str = ""
    language: str = ""
    institution: str = ""

    @classmethod
    def from_query(cls, query) -> "CatalogueFilters":
        cadre = query.get("cadre", "")
        return cls(
            cadre=cadre if cadre in Cadre.values else "",
            language=query.get("language", "")[:10],
            institution=query.get("institution", "")[:80],
        )

    @property
    def active(self) -> bool:
        return bool(self.cadre or self.language or self.institution)


def catalogue_courses(*, catalogue, filters: CatalogueFilters) -> QuerySet[CoursePage]:
    courses = CoursePage.objects.descendant_of(catalogue).live()
    if filters.cadre:
        courses = courses.filter(**{f"for_{filters.cadre}s": True})
    if filters.language:
        courses = courses.filter(language=filters.language)
    if filters.institution:
        section = (
            InstitutionPage.objects.child_of(catalogue)
            .filter(institution__slug=filters.institution)
            .first()
        )
        courses = courses.child_of(section) if section else courses.none()
    return courses.order_by("title")


def catalogue_filter_choices(*, catalogue) -> dict:
    languages = sorted(
        set(CoursePage.objects.descendant_of(catalogue).live().values_list("language", flat=True))
    )
    return {
        "cadres": Cadre.choices,
        "languages": languages,
        "institutions": list(
            InstitutionPage.objects.child_of(catalogue)
            .live()
            .select_related("institution")
            .values_list("institution__slug", "title")
        ),
    }


# --- Courses and modules --------------------------------------------------------------------


def course_modules(*, course: CoursePage) -> list[ModulePage]:
    return list(ModulePage.objects.child_of(course).live().order_by("path"))


def required_module_ids(*, course: CoursePage) -> list[int]:
    return list(
        ModulePage.objects.child_of(course)
        .live()
        .filter(is_required=True)
        .values_list("pk", flat=True)
    )


def course_competencies(*, course: CoursePage) -> list[ModuleCompetency]:
    """Competencies the course builds (highest target level per competency)."""
    mappings = (
        ModuleCompetency.objects.filter(module__in=ModulePage.objects.child_of(course).live())
        .select_related("competency", "target_level", "competency__framework")
        .order_by("competency__code", "-target_level__order")
    )
    best = {}
    for mapping in mappings:
        best.setdefault(mapping.competency_id, mapping)
    return list(best.values())


@dataclass
class CourseProgress:
    enrolment: Enrolment | None
    modules: list[ModulePage]
    completed_ids: set[int] = field(default_factory=set)

    @property
    def required(self) -> list[ModulePage]:
        return [m for m in self.modules if m.is_required] or self.modules

    @property
    def percent(self) -> int:
        required = self.required
        if not required:
            return 0
        done = sum(1 for m in required if m.pk in self.completed_ids)
        return round(100 * done / len(required))

    @property
    def is_complete(self) -> bool:
        """Every required module done (a course without modules is never complete)."""
        return bool(self.required) and all(m.pk in self.completed_ids for m in self.required)

    @property
    def next_module(self) -> ModulePage | None:
        return next((m for m in self.modules if m.pk not in self.completed_ids), None)


def course_progress(*, course: CoursePage, user) -> CourseProgress:
    modules = course_modules(course=course)
    if not user.is_authenticated:
        return CourseProgress(None, modules)
    enrolment = Enrolment.objects.filter(learner=user, course=course).first()
    completed = set(
        ModuleCompletion.objects.filter(
            learner=user, module__in=[m.pk for m in modules]
        ).values_list("module_id", flat=True)
    )
    return CourseProgress(enrolment, modules, completed)


def course_page_context(*, course: CoursePage, user) -> dict:
    # A translation shows the original's progress (courses.translations), module by module
    # in its own language where the module is translated.
    original = translations.source_page(course)
    progress = course_progress(course=original, user=user)
    rows = translations.module_rows(progress.modules, locale_id=course.locale_id)
    shown = {row.module.pk: row.page for row in rows}
    return {
        "event_id": uuid.uuid4(),  # a fresh id per form: a double submit is applied once
        "progress": progress,
        "module_rows": rows,
        "next_page": shown.get(progress.next_module.pk) if progress.next_module else None,
        "translation_links": translations.translation_links(course),
        "untranslated": translations.untranslated_note_needed(course),
        "competencies": course_competencies(course=original),
    }


def module_page_context(*, module: ModulePage, user) -> dict:
    course = module.course  # the course in this module's language, for the links
    page = module
    module = translations.source_page(module)  # the records name the original
    progress = course_progress(course=module.course, user=user)
    rows = translations.module_rows(progress.modules, locale_id=page.locale_id)
    index = next((i for i, row in enumerate(rows) if row.module.pk == module.pk), 0)
    context = {
        "event_id": uuid.uuid4(),
        "course": course,
        "progress": progress,
        "previous_module": rows[index - 1].page if index > 0 else None,
        "next_module": rows[index + 1].page if index + 1 < len(rows) else None,
        "untranslated": translations.untranslated_note_needed(page),
        "is_complete": module.pk in progress.completed_ids,
        "quiz": page.quiz_block(),  # in the page's language; the same block ids
        "last_attempt": None,
        "attempts_left": None,
        "competencies": list(
            module.competency_mappings.select_related("competency", "target_level")
        ),
    }
    if user.is_authenticated:
        context["last_attempt"] = (
            QuizAttempt.objects.filter(learner=user, module=module)
            .order_by("-attempted_at")
            .first()
        )
        context["attempts_left"] = quiz_attempts_left(learner=user, module=module)
        context["observations"] = list(
            Observation.objects.filter(learner=user, module=module).select_related(
                "competency", "level", "supervisor"
            )
        )
    return context


def quiz_attempts_left(*, learner, module: ModulePage) -> int | None:
    """Attempts the learner may still make; None means unlimited."""
    limit = module.course.max_quiz_attempts
    if not limit:
        return None
    used = QuizAttempt.objects.filter(learner=learner, module=module).count()
    return max(0, limit - used)


# --- Quiz scoring -------------------------------------------------------------------------


@dataclass
class ScoredQuiz:
    score: Decimal
    passed: bool
    answers: dict[str, list[str]]
    feedback: dict[str, dict]


def score_quiz(quiz_block, answers: dict[str, list[str]]) -> ScoredQuiz:
    """Score ``answers`` (question id → answer ids) against a quiz block, on the server.

    Raises :class:`courses.services.LearningError` for a question or answer id that is not in
    this quiz (e.g. one from another module's quiz) or several answers to a one-answer question.
    """
    questions = {}
    for question in quiz_block.value["questions"].bound_blocks:
        answer_ids = {a.id: a.value for a in question.value["answers"].bound_blocks}
        questions[question.id] = (question.value, answer_ids)
    unknown = set(answers) - set(questions)
    if unknown:
        raise LearningError(_("These answers are not for this quiz; nothing was recorded."))
    correct_count = 0
    feedback = {}
    clean_answers = {}
    for question_id, (question, answer_blocks) in questions.items():
        chosen = [str(a) for a in answers.get(question_id, [])]
        if set(chosen) - set(answer_blocks):
            raise LearningError(_("An answer is not one of this question's answers."))
        if question["kind"] == "single" and len(chosen) > 1:
            raise LearningError(_("Choose only one answer to “%s”.") % question["text"])
        right = {aid for aid, a in answer_blocks.items() if a["is_correct"]}
        is_correct = bool(chosen) and set(chosen) == right
        correct_count += is_correct
        clean_answers[question_id] = chosen
        feedback[question_id] = {
            "correct": is_correct,
            "answers": {aid: answer_blocks[aid]["feedback"] for aid in chosen},
        }
    total = len(questions) or 1
    score = (Decimal(100) * correct_count / total).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return ScoredQuiz(
        score=score,
        passed=score >= quiz_block.value["pass_mark"],
        answers=clean_answers,
        feedback=feedback,
    )


# --- Dashboard ----------------------------------------------------------------------------


def learner_enrolments(*, user) -> list[tuple[Enrolment, CourseProgress]]:
    enrolments = (
        Enrolment.objects.filter(learner=user)
        .exclude(status=EnrolmentStatus.WITHDRAWN)
        .select_related("course")
        .order_by("status", "-enrolled_at")
    )
    return [(e, course_progress(course=e.course, user=user)) for e in enrolments]


# --- Institutions ---------------------------------------------------------------------------


def institution_courses(*, institution) -> QuerySet[CoursePage]:
    """The institution's own live courses: those in its section of the page tree."""
    if institution.root_page_id is None:
        return CoursePage.objects.none()
    return CoursePage.objects.live().descendant_of(institution.root_page)


def institution_learners(*, institution) -> QuerySet:
    """Users enrolled (and not withdrawn) in any of the institution's courses."""
    enrolled = Enrolment.objects.filter(
        course__in=institution_courses(institution=institution)
    ).exclude(status=EnrolmentStatus.WITHDRAWN)
    return get_user_model().objects.filter(pk__in=enrolled.values("learner_id"))


def learners_the_institution_may_enrol(*, institution: Institution, user_ids) -> set[int]:
    """Of the existing accounts ``user_ids``, those ``institution`` may add to its cohorts.

    An account qualifies when it is a learner — no superuser, Django staff, staff of any
    institution (this one included) or regulator: see
    :func:`lms.selectors.users_holding_roles` — and a learner *of this institution*: it has a
    :class:`~lms.models.LearnerIdentity` of the institution (its LMS registered it), or it is
    in one of the institution's cohorts, or enrolled (in any state) in one of the courses in
    the institution's section of the site. An account another institution's LMS created (it
    has learner identities, none of them this institution's) does not qualify through a
    cohort or an enrolment: those are this institution's to make, not the account's.
    """
    candidates = set(user_ids) - lms_selectors.users_holding_roles(user_ids=user_ids)
    if not candidates:
        return set()
    identities = list(
        LearnerIdentity.objects.filter(user_id__in=candidates).values_list(
            "user_id", "institution_id"
        )
    )
    own_identity = {user for user, owner in identities if owner == institution.pk}
    others_only = {user for user, _owner in identities} - own_identity
    in_cohorts = set(
        Cohort.learners.through.objects.filter(
            cohort__institution=institution, user_id__in=candidates
        ).values_list("user_id", flat=True)
    )
    enrolled = set()
    if institution.root_page_id is not None:
        enrolled = set(
            Enrolment.objects.filter(
                learner_id__in=candidates,
                course__in=CoursePage.objects.descendant_of(institution.root_page),
            ).values_list("learner_id", flat=True)
        )
    return own_identity | ((in_cohorts | enrolled) - others_only)


@dataclass
class InstitutionLearnerProgress:
    """One learner's records in one institution's courses (and in no one else's)."""

    enrolments: list[tuple[Enrolment, CourseProgress]]
    completions: list[ModuleCompletion]
    quiz_attempts: list[QuizAttempt]


def institution_learner_progress(*, institution, learner) -> InstitutionLearnerProgress:
    """What ``learner`` did in ``institution``'s section of the site, in a fixed few queries.

    Courses the institution has since unpublished still show, with their records; percentages
    count the modules that are live now, as the learner's own pages do.
    """
    if institution.root_page_id is None:
        return InstitutionLearnerProgress([], [], [])
    section = institution.root_page.path
    enrolments = list(
        Enrolment.objects.filter(learner=learner, course__path__startswith=section)
        .select_related("course")
        .order_by("enrolled_at", "pk")
    )
    modules_by_course: dict[str, list[ModulePage]] = {}
    if enrolments:
        in_courses = Q()
        for course in (enrolment.course for enrolment in enrolments):
            in_courses |= Q(path__startswith=course.path, depth=course.depth + 1)
        for module in ModulePage.objects.live().filter(in_courses).order_by("path"):
            modules_by_course.setdefault(module.path[: -ModulePage.steplen], []).append(module)
    completions = list(
        ModuleCompletion.objects.filter(learner=learner, course__path__startswith=section)
        .select_related("module")
        .order_by("completed_at", "pk")
    )
    done = {completion.module_id for completion in completions}
    attempts = list(
        QuizAttempt.objects.filter(learner=learner, module__path__startswith=section)
        .select_related("module")
        .order_by("attempted_at", "pk")
    )
    return InstitutionLearnerProgress(
        enrolments=[
            (e, CourseProgress(e, modules_by_course.get(e.course.path, []), done))
            for e in enrolments
        ],
        completions=completions,
        quiz_attempts=attempts,
    )


# --- Cohort × competency grid -------------------------------------------------------------


@dataclass(frozen=True)
class GridColumn:
    """A competency the cohort's course builds, at the highest level a module targets."""

    competency: object  # competencies.models.CompetencyItem
    target_level: object  # competencies.models.ScaleLevel
    reached_target: int  # learners at the target level or above

    @property
    def heading(self) -> str:
        return str(self.competency)


@dataclass(frozen=True)
class GridCell:
    level: object | None  # the ScaleLevel reached, or None
    target_level: object

    @property
    def is_gap(self) -> bool:
        """Below the target level (or not started): what the institution has to work on."""
        return self.level is None or self.level.order < self.target_level.order

    @property
    def label(self) -> str:
        return self.level.name if self.level is not None else ""


@dataclass(frozen=True)
class GridRow:
    learner: object
    full_name: str
    cells: list[GridCell]


@dataclass(frozen=True)
class CohortGrid:
    columns: list[GridColumn]
    rows: list[GridRow]


def cohort_competency_grid(*, cohort: Cohort) -> CohortGrid:
    """Who in the cohort has reached which level of each competency its course builds.

    Columns are the competencies the course's live modules are mapped to (the highest target
    level when several modules build one); cells the level reached, from attainment. Three
    queries whatever the size of the cohort or the course.
    """
    mappings = course_competencies(course=cohort.course)
    learners = list(cohort.learners.select_related("learner_profile").order_by("username"))
    levels = attainment_grid(
        learner_ids=[learner.pk for learner in learners],
        competency_ids=[mapping.competency_id for mapping in mappings],
    )
    rows = [
        GridRow(
            learner=learner,
            full_name=getattr(getattr(learner, "learner_profile", None), "full_name", ""),
            cells=[
                GridCell(
                    level=levels.get((learner.pk, mapping.competency_id)),
                    target_level=mapping.target_level,
                )
                for mapping in mappings
            ],
        )
        for learner in learners
    ]
    columns = [
        GridColumn(
            competency=mapping.competency,
            target_level=mapping.target_level,
            reached_target=sum(1 for row in rows if not row.cells[index].is_gap),
        )
        for index, mapping in enumerate(mappings)
    ]
    return CohortGrid(columns=columns, rows=rows)


# --- Cohorts and supervision ---------------------------------------------------------------


#: Roles that run an institution's cohorts.
COHORT_ROLES = (InstitutionRole.MANAGER, InstitutionRole.INSTRUCTOR)


def cohort_institutions(*, user) -> list[Institution]:
    """Institutions whose cohorts ``user`` runs, as a manager or instructor."""
    return list(lms_selectors.user_institutions(user=user, roles=COHORT_ROLES))


def cohorts_for(*, user):
    return Cohort.objects.filter(institution__in=cohort_institutions(user=user)).select_related(
        "institution", "course"
    )


@dataclass(frozen=True)
class LearnerProgress:
    learner: object
    full_name: str
    completed: int
    total: int
    status: str  # an EnrolmentStatus, or "" when not enrolled

    @property
    def percent(self) -> int:
        return round(100 * self.completed / self.total) if self.total else 0

    @property
    def status_label(self) -> str:
        return EnrolmentStatus(self.status).label if self.status else _("Not enrolled")


def cohort_progress(*, cohort: Cohort) -> list[LearnerProgress]:
    """Each of the cohort's learners: modules completed of those required, and status.

    Counted as a learner's own course page counts them (required modules, or all when none
    is required). Five queries whatever the cohort's size.
    """
    modules = course_modules(course=cohort.course)
    counted = {m.pk for m in modules if m.is_required} or {m.pk for m in modules}
    learners = list(cohort.learners.select_related("learner_profile").order_by("username"))
    done = dict(
        ModuleCompletion.objects.filter(learner__in=learners, module_id__in=counted)
        .values("learner_id")
        .annotate(n=Count("id"))
        .values_list("learner_id", "n")
    )
    status = dict(
        Enrolment.objects.filter(course=cohort.course, learner__in=learners).values_list(
            "learner_id", "status"
        )
    )
    return [
        LearnerProgress(
            learner=learner,
            full_name=getattr(getattr(learner, "learner_profile", None), "full_name", ""),
            completed=done.get(learner.pk, 0),
            total=len(counted),
            status=status.get(learner.pk, ""),
        )
        for learner in learners
    ]


def supervised_institutions(*, user) -> list[Institution]:
    """Institutions where ``user`` is a supervisor."""
    return list(lms_selectors.user_institutions(user=user, role=InstitutionRole.SUPERVISOR))


def observations_recorded_by(*, supervisor):
    return Observation.objects.filter(supervisor=supervisor).select_related(
        "learner__learner_profile", "competency", "level", "institution", "module"
    )


def observations_about(*, learner):
    return Observation.objects.filter(learner=learner).select_related(
        "competency", "level", "supervisor__learner_profile", "institution", "module"
    )


# --- What the progress path reads of the course structure ---------------------------------
# Checking a progress event reads the live modules and courses it names, the course's required
# modules, the institution whose section holds the course and the competencies the module is
# mapped to. All of it changes only when a page is saved (published, unpublished, moved…) or
# deleted, or a module's competency mappings change: each process keeps what it read until
# then (see courses.caches.STRUCTURE), so a single event usually reads none of it.


#: What the progress path reads of a page (its place in the tree, revision, title, URL):
#: loading only these makes the look-ups about twice as fast as whole Wagtail pages.
PROGRESS_PAGE_FIELDS = (
    "id",
    "path",
    "depth",
    "title",
    "slug",
    "url_path",
    "live",
    "live_revision_id",
    "content_type_id",
    "locale_id",
    "translation_key",
)


def _section(memo: dict, root_page_id: int) -> tuple[str, int] | None:
    """The path and depth of an institution's section of the page tree."""
    key = ("section", root_page_id)
    if key not in memo:
        memo[key] = Page.objects.filter(pk=root_page_id).values_list("path", "depth").first()
    return memo[key]


def institution_live_pages(
    *, institution: Institution, course_ids: set[int], module_ids: set[int]
) -> tuple[dict[int, CoursePage], dict[int, tuple[ModulePage, CoursePage]]]:
    """The institution's live courses and modules among those ids, each module with its live
    course; another institution's are left out as if they did not exist.

    What this process has not read since the structure last changed costs three small
    queries: the institution's section, the modules by id, then in one query the courses
    asked for and the modules' courses, within the section. The pages are shared by the
    process's requests: read them, never change them.
    """
    root = institution.root_page_id
    if not root or not (course_ids or module_ids):
        return {}, {}
    memo = STRUCTURE.memo()
    unread_courses = {pk for pk in course_ids if ("course", root, pk) not in memo}
    unread_modules = {pk for pk in module_ids if ("module", root, pk) not in memo}
    if unread_courses or unread_modules:
        courses, modules = _institution_live_pages_read(
            _section(memo, root), course_ids=unread_courses, module_ids=unread_modules
        )
        memo.update({("course", root, pk): courses.get(pk) for pk in unread_courses})
        memo.update({("module", root, pk): modules.get(pk) for pk in unread_modules})
    return _known(memo, "course", root, course_ids), _known(memo, "module", root, module_ids)


def _known(memo: dict, kind: str, root: int, ids: set[int]) -> dict:
    found = ((pk, memo[kind, root, pk]) for pk in ids)
    return {pk: value for pk, value in found if value is not None}


def _institution_live_pages_read(section, *, course_ids: set, module_ids: set):
    """The pages asked for; an id not found that is a translation's stands for its original
    (progress is recorded on originals: another LMS may know a course by its French page's
    id). Translations cost queries only when an id is not found."""
    if section is None:
        return {}, {}
    courses, modules = _live_pages_in_section(section, course_ids=course_ids, module_ids=module_ids)
    missing = {pk for pk in course_ids if pk not in courses}
    missing |= {pk for pk in module_ids if pk not in modules}
    standing = {pk: original for pk, original in _original_ids(missing).items() if pk != original}
    if standing:
        originals_courses, originals_modules = _live_pages_in_section(
            section,
            course_ids={standing[pk] for pk in course_ids if pk in standing},
            module_ids={standing[pk] for pk in module_ids if pk in standing},
        )
        for pk, original in standing.items():
            if pk in course_ids and original in originals_courses:
                courses[pk] = originals_courses[original]
            if pk in module_ids and original in originals_modules:
                modules[pk] = originals_modules[original]
    return courses, modules


def _live_pages_in_section(section, *, course_ids: set, module_ids: set):
    modules = {
        module.pk: module
        for module in (
            ModulePage.objects.live().filter(pk__in=module_ids).only(*PROGRESS_PAGE_FIELDS)
            if module_ids
            else []
        )
    }
    found = _live_courses_in_section(
        section, paths={_parent_path(module) for module in modules.values()}, ids=course_ids
    )
    courses_of_modules = {course.path: course for course in found}
    modules = {
        pk: (module, courses_of_modules[_parent_path(module)])
        for pk, module in modules.items()
        if _parent_path(module) in courses_of_modules
    }
    courses = {course.pk: course for course in found if course.pk in course_ids}
    return courses, modules


def _original_ids(page_ids: set[int]) -> dict[int, int]:
    """Each page id → the id of its original among its translations (the page created first,
    as :func:`courses.translations.source_page` has it); itself when it has none."""
    if not page_ids:
        return {}
    keys = dict(Page.objects.filter(pk__in=page_ids).values_list("pk", "translation_key"))
    first: dict = {}
    for key, pk in (
        Page.objects.filter(translation_key__in=set(keys.values()))
        .order_by("pk")
        .values_list("translation_key", "pk")
    ):
        first.setdefault(key, pk)
    return {pk: first.get(keys.get(pk), pk) for pk in page_ids}


def _parent_path(page) -> str:
    return page.path[: -ModulePage.steplen]


def _live_courses_in_section(section, *, paths: set[str], ids=frozenset()) -> list[CoursePage]:
    """The live courses at those paths or with those ids, within an institution's section:
    a module's course elsewhere (moved to another section) does not count."""
    section_path, section_depth = section
    return list(
        CoursePage.objects.live()
        .filter(
            Q(pk__in=ids) | Q(path__in=paths),
            path__startswith=section_path,
            depth__gt=section_depth,
        )
        .only(*PROGRESS_PAGE_FIELDS)
    )


def courses_required_modules(*, courses) -> dict[int, frozenset[int]]:
    """Each course's live required modules, by course id (one query for those not known)."""
    memo = STRUCTURE.memo()
    unread = [course for course in courses if ("required", course.pk) not in memo]
    if unread:
        course_of_path = {course.path: course.pk for course in unread}
        required: dict[int, set[int]] = {course.pk: set() for course in unread}
        children = Q(pk__in=[])
        for course in unread:
            children |= Q(path__startswith=course.path, depth=course.depth + 1)
        for pk, path in (
            ModulePage.objects.live().filter(children, is_required=True).values_list("pk", "path")
        ):
            required[course_of_path[path[: -ModulePage.steplen]]].add(pk)
        memo.update({("required", pk): frozenset(pks) for pk, pks in required.items()})
    return {course.pk: memo["required", course.pk] for course in courses}


def section_institutions(*, paths: set[str]) -> dict[str, int]:
    """The institution whose section of the page tree is at each path, for those that are one
    (one query for the paths not known)."""
    memo = STRUCTURE.memo()
    unread = {path for path in paths if ("institution at", path) not in memo}
    if unread:
        found = dict(
            InstitutionPage.objects.filter(path__in=unread).values_list("path", "institution_id")
        )
        memo.update({("institution at", path): found.get(path) for path in unread})
    at = ((path, memo["institution at", path]) for path in paths)
    return {path: institution_id for path, institution_id in at if institution_id is not None}


def modules_competency_mappings(*, module_ids: set[int]) -> dict[int, list[ModuleCompetency]]:
    """Each module's competency mappings with their competency and target level (one query
    for the modules not known). Mappings to a draft framework's items are read every time:
    a draft's items and scale still change, a published framework's never do."""
    memo = STRUCTURE.memo()
    unread = {pk for pk in module_ids if ("mappings", pk) not in memo}
    found: dict[int, list[ModuleCompetency]] = {pk: [] for pk in unread}
    drafts: set[int] = set()
    if unread:
        for mapping in (
            ModuleCompetency.objects.filter(module__in=unread)
            .select_related("competency", "target_level")
            .annotate(framework_status=F("competency__framework__status"))
        ):
            found[mapping.module_id].append(mapping)
            if mapping.framework_status == FrameworkStatus.DRAFT:
                drafts.add(mapping.module_id)
        memo.update({("mappings", pk): m for pk, m in found.items() if pk not in drafts})
    return {pk: found[pk] if pk in found else memo["mappings", pk] for pk in module_ids}


def institution_activity_module(
    *, institution: Institution, activity_iri: str
) -> tuple[ModulePage, CoursePage] | None:
    """The institution's live module (in a live course) mapped to an xAPI activity IRI, with
    its course; the first in the page tree if several are (two queries when not known)."""
    root = institution.root_page_id
    if not root or not activity_iri:
        return None
    memo = STRUCTURE.memo()
    key = ("activity", root, activity_iri)
    if key not in memo:
        memo[key] = _activity_module_read(_section(memo, root), activity_iri=activity_iri)
    return memo[key]


def _activity_module_read(section, *, activity_iri: str):
    if section is None:
        return None
    section_path, section_depth = section
    candidates = list(
        ModulePage.objects.live()
        .filter(
            xapi_activity_iri=activity_iri,
            path__startswith=section_path,
            depth__gt=section_depth,
        )
        .order_by("path")
        .only(*PROGRESS_PAGE_FIELDS)
    )
    if not candidates:
        return None
    courses = {
        course.path: course
        for course in _live_courses_in_section(
            section, paths={_parent_path(module) for module in candidates}
        )
    }
    for module in candidates:
        course = courses.get(_parent_path(module))
        if course is not None:
            return module, course
    return None


# --- The progress path's reads of learners' state ---------------------------------------------


@dataclass
class ProgressState:
    """What a set of progress events is checked against (see :func:`progress_state`)."""

    known: dict  # event id -> the ProgressEvent recorded under it
    enrolments: list[Enrolment]  # locked until the transaction ends
    completed: defaultdict[int, set[int]]  # learner id -> ids of modules completed


def progress_state(*, event_ids, learner_ids, course_ids, module_ids) -> ProgressState:
    """The events already recorded under any of ``event_ids``; the learners' enrolments in
    the courses, each row locked until the transaction ends (in primary-key order, so two
    transactions never wait for each other in a circle); and which of ``module_ids`` each
    learner has completed.

    SQL templates through ``Model.objects.raw()`` and ``connection.cursor()``: every event
    and statement reads these (see :mod:`lms.raw_sql`)."""
    known = {}
    if event_ids:
        known = {
            event.event_id: event
            for event in ProgressEvent.objects.raw(
                "SELECT * FROM courses_progressevent"  # noqa: S608 - placeholders only
                f" WHERE event_id IN ({placeholders(event_ids)})",
                column_values(ProgressEvent, "event_id", event_ids),
            )
        }
    enrolments = []
    if learner_ids and course_ids:
        enrolments = list(
            Enrolment.objects.raw(
                "SELECT * FROM courses_enrolment"  # noqa: S608 - placeholders only
                f" WHERE learner_id IN ({placeholders(learner_ids)})"
                f" AND course_id IN ({placeholders(course_ids)}) ORDER BY id{lock_clause()}",
                [*learner_ids, *course_ids],
                using=router.db_for_write(Enrolment),
            )
        )
    completed = defaultdict(set)
    if learner_ids and module_ids:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT learner_id, module_id FROM courses_modulecompletion"  # noqa: S608 - placeholders only
                f" WHERE learner_id IN ({placeholders(learner_ids)})"
                f" AND module_id IN ({placeholders(module_ids)})",
                [*learner_ids, *module_ids],
            )
            for learner_id, module_id in cursor.fetchall():
                completed[learner_id].add(module_id)
    return ProgressState(known, enrolments, completed)


def xapi_statement_stored(*, institution, statement_id) -> XapiStatement | None:
    """The statement the institution stored under ``statement_id``, if any (a template, as
    :func:`progress_state`: every statement stored asks it first)."""
    found = list(
        XapiStatement.objects.raw(
            "SELECT * FROM courses_xapistatement"
            " WHERE institution_id = %s AND statement_id = %s LIMIT 1",
            [institution.pk, *column_values(XapiStatement, "statement_id", [statement_id])],
        )
    )
    return found[0] if found else None


# --- Regulators' statistics -----------------------------------------------------------------


def enrolments_of(*, learner_ids=None) -> QuerySet[Enrolment]:
    """Enrolments of the learners ``learner_ids`` (a list or a subquery; None: everyone's,
    for a caller that narrows them itself), to count from."""
    if learner_ids is None:
        return Enrolment.objects.all()
    return Enrolment.objects.filter(learner_id__in=learner_ids)


def course_ids_covering(*, competency_ids) -> set[int]:
    """Courses with a module mapped to any of ``competency_ids`` (for CPD in a competency)."""
    module_paths = ModulePage.objects.filter(
        competency_mappings__competency_id__in=list(competency_ids)
    ).values_list("path", flat=True)
    parents = {path[: -ModulePage.steplen] for path in module_paths}
    return set(CoursePage.objects.filter(path__in=parents).values_list("pk", flat=True))
