"""What :mod:`certificates.issuing` builds on: the certificate row as issued (with what it
freezes), and which automatic rules a batch of progress concerns."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from certificates import caches
from certificates.criteria import RULE_RELATED
from certificates.links import site_url, verification_url
from certificates.models import STATUS_LIST_SIZE, Certificate, CertificateRule
from competencies import selectors as competency_selectors
from competencies.models import CompetencyAttainment
from courses import selectors as course_selectors
from courses.models import CoursePage, Enrolment


def holder_name_for(learner) -> str:
    """The name printed on the learner's certificates: their profile's full name, else the
    account's, else the user name."""
    profile = getattr(learner, "learner_profile", None)
    name = (profile.full_name if profile else "") or learner.get_full_name()
    return name.strip() or learner.get_username()


def frozen_competencies(*, course: CoursePage, learner, language: str) -> list[dict]:
    """The competencies the certificate attests, with the level reached (at least the target),
    worded in ``language`` (the certificate's) where a framework we hold translates them."""
    mappings = course_selectors.course_competencies(course=course)
    translations = competency_selectors.item_translations(
        item_ids=[m.competency_id for m in mappings], language=language
    )
    reached = {
        row.competency_id: row.level
        for row in CompetencyAttainment.objects.filter(
            learner=learner, competency_id__in=[m.competency_id for m in mappings]
        ).select_related("level")
    }
    base = site_url("/ims/case/v1p1")
    frozen = []
    for mapping in mappings:
        item = mapping.competency
        level = reached.get(item.pk)
        if level is None or level.order < mapping.target_level.order:
            level = mapping.target_level
        statement, level_name = item.abbreviated_statement or item.full_statement, level.name
        if (translation := translations.get(item.pk)) is not None:
            statement = translation.statement
            level_name = translation.levels.get(level.order, level_name)
        frozen.append(
            {
                "code": item.code,
                "statement": statement,
                "identifier": str(item.identifier),
                "uri": item.uri or f"{base}/CFItems/{item.identifier}",
                "level": level_name,
                "level_order": level.order,
                "framework": item.framework.title,
                "framework_version": item.framework.version,
            }
        )
    return frozen


def new_status_index() -> int:
    """A random free position in the status lists (random, so an index says nothing)."""
    # The highest id bounds the number of certificates, at the cost of one index look-up
    # (a COUNT would scan the table on every issue).
    taken = Certificate.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    lists = 1 + taken // (STATUS_LIST_SIZE // 2)
    return secrets.randbelow(STATUS_LIST_SIZE * lists)


def clashed_on_drawn_value(error: IntegrityError) -> bool:
    """Whether an insert failed on the randomly drawn code or status index (astronomically
    rare: draw again) rather than on the one-active-certificate constraint."""
    return "code" in str(error) or "status_list_index" in str(error)


def certificate_create(
    *, learner, rule: CertificateRule, method: str, actor, renews, draw_code: Callable[[], str]
) -> Certificate:
    """Insert the certificate with everything it shows frozen as of now, and a new code and
    status index (which may clash: see :func:`clashed_on_drawn_value`)."""
    course, template = rule.course, rule.template
    now = timezone.now()
    valid_until = (
        timezone.localdate(now) + relativedelta(months=rule.validity_months)
        if rule.validity_months
        else None
    )
    framework = course.framework
    return Certificate.objects.create(
        code=draw_code(),
        status_list_index=new_status_index(),
        learner=learner,
        course=course,
        course_version=rule.course_version,
        institution_id=template.institution_id,
        template=template,
        method=method,
        holder_name=holder_name_for(learner),
        course_title=course.title,
        institution_name=template.institution.name,
        cpd_hours=course.cpd_hours,
        framework_title=framework.title if framework else "",
        framework_version=framework.version if framework else "",
        framework_identifier=str(framework.identifier) if framework else "",
        competencies=frozen_competencies(
            course=course, learner=learner, language=template.language
        ),
        language=template.language,
        issued_at=now,
        valid_until=valid_until,
        renews=renews,
    )


def issued_webhook_payload(certificate: Certificate, *, learner, course: CoursePage) -> dict:
    """What the institution's ``certificate_issued`` webhooks are told."""
    return {
        "learner": {"id": learner.pk, "username": learner.get_username()},
        "certificate": {
            "code": certificate.display_code,
            "course": {"id": course.pk, "title": certificate.course_title},
            "issued_at": certificate.issued_at.isoformat(),
            "valid_until": certificate.valid_until.isoformat() if certificate.valid_until else None,
            "verification_url": verification_url(certificate),
        },
    }


# --- Automatic issue: which rules a batch of progress concerns -------------------------------


@dataclass
class AutomaticRules:
    """The automatic rules of the courses a batch of (learner, course) pairs names."""

    rules_of: dict[int, list[CertificateRule]]  # by course id
    position: dict[int, int]  # by rule id: the rules' own ordering
    enrolled: dict[int, list[int]]  # pairs without a course: the learner's courses with rules
    learners: dict[int, object]  # by id, the learners of the pairs that have a rule

    def rules_for(self, learner_id: int, course_id: int | None) -> list[CertificateRule]:
        """The rules to check for one pair, in the rules' ordering (kept when a pair without
        a course spans several)."""
        courses = [course_id] if course_id is not None else self.enrolled.get(learner_id, [])
        return sorted(
            (rule for course in courses for rule in self.rules_of.get(course, [])),
            key=lambda rule: self.position[rule.pk],
        )


def automatic_rules_for(pairs: list[tuple[int, int | None]]) -> AutomaticRules | None:
    """The automatic rules the pairs concern (``course_id`` None: any course the learner is
    enrolled in), or None when there are none.

    One query finds the rules of all the pairs' courses; none at all when this process's
    copy of the courses with automatic rules (:mod:`certificates.caches`) says no course of
    theirs has one, as for most progress.
    """
    course_ids = {course_id for _learner, course_id in pairs if course_id is not None}
    anywhere = {learner_id for learner_id, course_id in pairs if course_id is None}
    with_rules = caches.courses_with_automatic_rules()
    if with_rules is not None:
        course_ids &= with_rules
        if not course_ids and not anywhere:
            return None
    rules_of, position = _automatic_rules_of(course_ids=course_ids, anywhere=anywhere)
    if not rules_of:
        return None
    enrolled = _enrolled_courses(learner_ids=anywhere, course_ids=list(rules_of))
    learners = get_user_model().objects.in_bulk(
        {
            learner_id
            for learner_id, course_id in pairs
            if (course_id in rules_of) or (course_id is None and enrolled.get(learner_id))
        }
    )
    return AutomaticRules(rules_of, position, enrolled, learners)


def _automatic_rules_of(*, course_ids: set[int], anywhere: set[int]):
    """The automatic rules of these courses and of the courses these learners are enrolled
    in, by course; and each rule's place in the rules' ordering."""
    condition = Q(course_id__in=course_ids)
    if anywhere:
        condition |= Q(
            course_id__in=Enrolment.objects.filter(learner_id__in=anywhere).values("course_id")
        )
    rules_of: dict[int, list[CertificateRule]] = {}
    position: dict[int, int] = {}
    for rule in CertificateRule.objects.filter(condition, automatic=True).select_related(
        *RULE_RELATED
    ):
        rules_of.setdefault(rule.course_id, []).append(rule)
        position[rule.pk] = len(position)
    return rules_of, position


def _enrolled_courses(*, learner_ids: set[int], course_ids: list[int]) -> dict[int, list[int]]:
    enrolled: dict[int, list[int]] = {}
    if learner_ids:
        for learner_id, course_id in Enrolment.objects.filter(
            learner_id__in=learner_ids, course_id__in=course_ids
        ).values_list("learner_id", "course_id"):
            enrolled.setdefault(learner_id, []).append(course_id)
    return enrolled
