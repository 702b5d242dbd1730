"""A course's certificate rule, what it requires of a learner, and whether they hold it.

Reads only. :mod:`certificates.issuing` asks here before it issues, the admin's issue page
to show what is missing; both reach these functions through :mod:`certificates.selectors`
from outside the app.
"""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from certificates.models import Certificate, CertificateRule, CertificateState
from competencies.models import CompetencyAttainment
from courses import selectors as course_selectors
from courses.models import CoursePage, ModuleCompletion, ModulePage, Observation, QuizAttempt

#: What issuing reads of a rule besides the rule: joined in, not fetched one by one.
RULE_RELATED = ("course", "course__framework", "template", "template__institution")


@dataclass
class CriteriaCheck:
    """Whether a learner meets a course's certificate criteria, and what is missing if not."""

    missing: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return not self.missing


def certificate_rule_for(*, course: CoursePage) -> CertificateRule | None:
    """The course's certificate rule, or None when the course awards no certificate."""
    return CertificateRule.objects.select_related(*RULE_RELATED).filter(course=course).first()


def active_certificate(*, learner, rule: CertificateRule) -> Certificate | None:
    """The learner's active certificate of the rule's course version, if they hold one."""
    return Certificate.objects.filter(
        learner=learner,
        course_id=rule.course_id,
        course_version=rule.course_version,
        state=CertificateState.ACTIVE,
    ).first()


def criteria_check(*, rule: CertificateRule, learner) -> CriteriaCheck:
    """Check each criterion the institution set for the course, naming what is missing."""
    check = CriteriaCheck()
    modules = _modules_with_completion(course=rule.course, learner=learner)
    if not modules:
        check.missing.append(_("The course has no published modules."))
        return check
    if rule.require_modules:
        check.missing += [
            _("Module not complete: %s") % module.title
            for module in modules
            if module.is_required and not module.completed
        ]
    if rule.require_quizzes:
        check.missing += _quizzes_missing(modules=modules, learner=learner)
    if rule.require_competencies or rule.require_observations:
        mappings = course_selectors.course_competencies(course=rule.course)
        if rule.require_competencies:
            check.missing += _attainments_missing(mappings=mappings, learner=learner)
        if rule.require_observations:
            check.missing += _observations_missing(
                mappings=mappings, learner=learner, institution_id=rule.template.institution_id
            )
    return check


def _modules_with_completion(*, course: CoursePage, learner) -> list[ModulePage]:
    """The course's live modules in order, each annotated with ``completed`` by the learner."""
    return list(
        ModulePage.objects.child_of(course)
        .live()
        .annotate(
            completed=Exists(
                ModuleCompletion.objects.filter(learner=learner, module_id=OuterRef("pk"))
            )
        )
        .order_by("path")
    )


def _quizzes_missing(*, modules: list[ModulePage], learner) -> list[str]:
    quiz_modules = [module for module in modules if module.quiz_block() is not None]
    passed = set(
        QuizAttempt.objects.filter(
            learner=learner, module__in=[module.pk for module in quiz_modules], passed=True
        ).values_list("module_id", flat=True)
    )
    return [
        _("Quiz not passed: %s") % module.title
        for module in quiz_modules
        if module.pk not in passed
    ]


def _attainments_missing(*, mappings, learner) -> list[str]:
    reached = dict(
        CompetencyAttainment.objects.filter(
            learner=learner, competency_id__in=[m.competency_id for m in mappings]
        ).values_list("competency_id", "level__order")
    )
    return [
        _("Competency not yet attained at %(level)s: %(code)s %(title)s")
        % _competency_words(mapping)
        for mapping in mappings
        if reached.get(mapping.competency_id, -1) < mapping.target_level.order
    ]


def _observations_missing(*, mappings, learner, institution_id: int) -> list[str]:
    """Mapped competencies no supervisor of the institution signed off at the target level."""
    observed: dict[int, int] = {}
    for competency_id, order in Observation.objects.filter(
        learner=learner,
        competency_id__in=[m.competency_id for m in mappings],
        institution_id=institution_id,
    ).values_list("competency_id", "level__order"):
        observed[competency_id] = max(order, observed.get(competency_id, -1))
    return [
        _("No supervisor sign-off at %(level)s: %(code)s %(title)s") % _competency_words(mapping)
        for mapping in mappings
        if observed.get(mapping.competency_id, -1) < mapping.target_level.order
    ]


def _competency_words(mapping) -> dict:
    competency = mapping.competency
    return {
        "level": mapping.target_level.name,
        "code": competency.code,
        "title": competency.abbreviated_statement or competency.full_statement,
    }
