"""Reads of CPD: a learner's ledger, their progress toward each requirement, who is behind.

Hours count from two sources within a requirement's period: courses completed here (the
course's CPD hours) and external activities their institution approved. A requirement that
names competencies (or a framework domain) counts only courses with a module mapped to one
of them and activities that name one of them.
"""

import datetime
import operator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from competencies import selectors as competency_selectors
from courses import selectors as course_selectors
from lms import selectors as lms_selectors
from lms.models import Cadre
from lms.roles import InstitutionRole
from regulation import figures, figures_cache, selectors
from regulation.models import ActivityStatus, CpdActivity, CpdRequirement, RegulatoryBody

ZERO = Decimal("0")
#: Roles that judge their institution's learners' external CPD.
REVIEWER_ROLES = (InstitutionRole.SUPERVISOR, InstitutionRole.MANAGER)


@dataclass
class Progress:
    requirement: CpdRequirement
    course_hours: Decimal
    activity_hours: Decimal

    @property
    def done(self) -> Decimal:
        return self.course_hours + self.activity_hours

    @property
    def remaining(self) -> Decimal:
        return max(self.requirement.hours - self.done, ZERO)

    @property
    def met(self) -> bool:
        return self.done >= self.requirement.hours

    @property
    def percent(self) -> int:
        return min(100, int(self.done * 100 / self.requirement.hours))


@dataclass
class BehindRow:
    name: str
    registration_number: str
    region: str
    cadre: str
    done: Decimal
    required: Decimal
    remaining: Decimal


def requirement_competency_ids(requirement: CpdRequirement) -> set[int] | None:
    """The competencies a requirement counts, or None when it counts every hour."""
    ids = set(requirement.competencies.values_list("pk", flat=True))
    if requirement.domain_id:
        ids |= competency_selectors.items_with_descendants(item_ids=[requirement.domain_id])
    return ids or None


def _hours_counted(requirement: CpdRequirement) -> tuple[QuerySet, QuerySet]:
    """The completed enrolments (of courses with CPD hours) and the approved activities that
    count toward ``requirement``: within its period, and in its competencies if it names
    some."""
    start, end = requirement.period_start, requirement.period_end
    competency_ids = requirement_competency_ids(requirement)
    completed = course_selectors.enrolments_of().filter(
        completed_at__gte=figures.day_start(start),
        completed_at__lt=figures.day_start(end + datetime.timedelta(days=1)),
        course__cpd_hours__gt=0,
    )
    activities = CpdActivity.objects.filter(
        status=ActivityStatus.APPROVED, done_on__gte=start, done_on__lte=end
    )
    if competency_ids is not None:
        completed = completed.filter(
            course_id__in=course_selectors.course_ids_covering(competency_ids=competency_ids)
        )
        activities = activities.filter(
            pk__in=CpdActivity.objects.filter(competencies__in=competency_ids).values("pk")
        )
    return completed, activities


def hours_by_learner(
    requirement: CpdRequirement, *, learner_ids
) -> dict[int, tuple[Decimal, Decimal]]:
    """Learner id → (course hours, approved activity hours) in the requirement's period."""
    completed, activities = _hours_counted(requirement)
    completed = completed.filter(learner_id__in=learner_ids)
    activities = activities.filter(learner_id__in=learner_ids)
    hours: dict[int, list[Decimal]] = {}
    for row in completed.values("learner_id").annotate(h=Sum("course__cpd_hours")).order_by():
        hours.setdefault(row["learner_id"], [ZERO, ZERO])[0] = row["h"] or ZERO
    for row in activities.values("learner_id").annotate(h=Sum("hours")).order_by():
        hours.setdefault(row["learner_id"], [ZERO, ZERO])[1] = row["h"] or ZERO
    return {learner: (c, a) for learner, (c, a) in hours.items()}


def requirements_of_body(*, body: RegulatoryBody) -> QuerySet[CpdRequirement]:
    return CpdRequirement.objects.filter(body=body).select_related("domain")


def requirements_for(*, learner, today=None) -> list[CpdRequirement]:
    """Requirements of the bodies whose jurisdiction covers the learner, for their cadre,
    whose period has not ended."""
    today = today or timezone.localdate()
    profile = lms_selectors.learner_profile_for(user=learner)
    if profile is None:
        return []
    found = []
    for requirement in (
        CpdRequirement.objects.filter(body__country=profile.country, period_end__gte=today)
        .filter(Q(cadre="") | Q(cadre=profile.cadre))
        .select_related("body", "domain")
        .order_by("period_end", "title")
    ):
        if selectors.jurisdiction_of(body=requirement.body).covers_profile(profile):
            found.append(requirement)
    return found


def learner_progress(*, learner, today=None) -> list[Progress]:
    progress = []
    for requirement in requirements_for(learner=learner, today=today):
        course, activity = hours_by_learner(requirement, learner_ids=[learner.pk]).get(
            learner.pk, (ZERO, ZERO)
        )
        progress.append(Progress(requirement, course, activity))
    return progress


def workers_concerned(requirement: CpdRequirement):
    profiles = selectors.jurisdiction_profiles(body=requirement.body)
    return profiles.filter(cadre=requirement.cadre) if requirement.cadre else profiles


def behind(
    *, requirement: CpdRequirement, region: str = "", limit: int | None = None
) -> list[BehindRow]:
    """Workers of the requirement's cadre in the jurisdiction short of its hours, the
    furthest behind first; the first ``limit`` of them, or all (kept a few minutes:
    :mod:`regulation.figures_cache`)."""
    return figures_cache.remembered(
        "cpd-behind",
        requirement.body,
        (requirement.pk, requirement.hours, requirement.period_end, region, limit),
        lambda: _behind(requirement=requirement, region=region, limit=limit),
    )


def _behind(*, requirement: CpdRequirement, region: str, limit: int | None) -> list[BehindRow]:
    """Those with no hours at all come first (by name), straight from the database; only
    when they are fewer than ``limit`` are the hours of the others counted and sorted."""
    profiles = workers_concerned(requirement)
    if region:
        profiles = profiles.filter(region=region)
    completed, activities = _hours_counted(requirement)
    columns = ("full_name", "worker_registration_number", "region", "cadre")
    none_done = (
        profiles.exclude(user_id__in=completed.values("learner_id"))
        .exclude(user_id__in=activities.values("learner_id"))
        .order_by("full_name", "pk")
        .values_list(*columns)
    )
    found = [(ZERO, *row) for row in (none_done[:limit] if limit else none_done)]
    if limit is None or len(found) < limit:
        done_by_learner = {
            learner: course + activity
            for learner, (course, activity) in hours_by_learner(
                requirement, learner_ids=profiles.values("user_id")
            ).items()
            if course + activity < requirement.hours
        }
        some_done = profiles.filter(
            Q(user_id__in=completed.values("learner_id"))
            | Q(user_id__in=activities.values("learner_id"))
        ).values_list("user_id", *columns)
        found += sorted(
            (
                (done_by_learner[user_id], *row)
                for user_id, *row in some_done
                if user_id in done_by_learner
            ),
            key=operator.itemgetter(0, 1),
        )
    labels = dict(Cadre.choices)
    return [
        BehindRow(
            name=name,
            registration_number=number,
            region=region_name,
            cadre=str(labels.get(cadre, cadre)),
            done=done,
            required=requirement.hours,
            remaining=requirement.hours - done,
        )
        for done, name, number, region_name, cadre in found[:limit]
    ]


def learner_activities(*, learner) -> QuerySet[CpdActivity]:
    return CpdActivity.objects.filter(learner=learner).select_related("institution")


def learner_course_hours(*, learner) -> list:
    """The learner's completed courses that carry CPD hours, newest first."""
    return list(
        course_selectors.enrolments_of(learner_ids=[learner.pk])
        .filter(completed_at__isnull=False, course__cpd_hours__gt=0)
        .select_related("course")
        .order_by("-completed_at")
    )


def activities_to_review(*, user) -> QuerySet[CpdActivity]:
    """Activities waiting for a decision at the institutions where ``user`` reviews CPD."""
    institutions = lms_selectors.user_institutions(user=user, roles=REVIEWER_ROLES)
    return (
        CpdActivity.objects.filter(institution__in=institutions, status=ActivityStatus.PENDING)
        .select_related("learner", "learner__learner_profile", "institution")
        .prefetch_related("competencies")
        .order_by("created_at")
    )


def may_review(*, user, activity: CpdActivity) -> bool:
    return (
        lms_selectors.user_institutions(user=user, roles=REVIEWER_ROLES)
        .filter(pk=activity.institution_id)
        .exists()
    )


def may_see_evidence(*, user, activity: CpdActivity) -> bool:
    return activity.learner_id == user.pk or may_review(user=user, activity=activity)


def reminder_lead(requirement: CpdRequirement, *, today: datetime.date, leads) -> int | None:
    """The reminder due today: the shortest lead time the period's end is within."""
    left = (requirement.period_end - today).days
    due = [lead for lead in leads if 0 <= left <= lead]
    return min(due) if due else None
