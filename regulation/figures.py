"""The workforce statistics of a jurisdiction: the numbers behind every chart and export.

Each function counts in the database (GROUP BY), from the jurisdiction's workers narrowed by
the regulator's :class:`Filters`. Workers are counted once per group, however many
enrolments or certificates they hold.
"""

import datetime
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db.models import Case, Count, F, IntegerField, Q, Value, When
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certificates import selectors as certificate_selectors
from competencies import selectors as competency_selectors
from courses import selectors as course_selectors
from lms.models import Cadre, Sector
from regulation import figures_cache, selectors
from regulation.models import RegulatoryBody

#: The dimensions workers can be grouped by, with their labels.
DIMENSIONS = {
    "region": _("Region"),
    "district": _("District"),
    "cadre": _("Cadre"),
    "sector": _("Sector"),
    "is_paid": _("Paid or unpaid"),
    "institution": _("Institution"),
}
#: How many days ahead "expiring soon" looks.
EXPIRING_DAYS = 90


@dataclass(frozen=True)
class Filters:
    """What the regulator narrowed the statistics to; empty means everything."""

    region: str = ""
    district: str = ""
    cadre: str = ""
    sector: str = ""
    paid: str = ""  # "", "paid" or "unpaid"
    institution_id: int | None = None
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None


@dataclass
class GroupRow:
    key: object
    label: str
    workers: int | None = 0  # None by institution: a worker is in no institution's count
    enrolled: int = 0
    trained: int = 0
    certified: int = 0
    valid: int = 0


@dataclass
class MonthRow:
    month: datetime.date
    issued: int = 0
    revoked: int = 0
    expired: int = 0


@dataclass
class HeatMap:
    framework: object
    regions: list[str]
    competencies: list = field(default_factory=list)
    workers: dict[str, int] = field(default_factory=dict)  # region → workers
    proficient: dict[tuple[str, int], int] = field(default_factory=dict)  # (region, item) → n

    def share(self, region: str, competency_id: int) -> float | None:
        total = self.workers.get(region, 0)
        if not total:
            return None
        return self.proficient.get((region, competency_id), 0) / total


def _profile_q(prefix: str, body: RegulatoryBody, filters: Filters) -> Q:
    """The jurisdiction and the profile filters, on the profile reached by ``prefix`` (e.g.
    ``learner__learner_profile__``): one join, where a subquery of the workers would scan
    the profiles a second time."""
    condition = selectors.jurisdiction_of(body=body).profiles_q(prefix)
    for name in ("region", "district", "cadre", "sector"):
        if value := getattr(filters, name):
            condition &= Q(**{f"{prefix}{name}": value})
    if filters.paid:
        condition &= Q(**{f"{prefix}is_paid": filters.paid == "paid"})
    return condition


LEARNER_PROFILE = "learner__learner_profile__"


def workers(*, body: RegulatoryBody, filters: Filters):
    """The jurisdiction's learner profiles narrowed by the profile filters."""
    return selectors.jurisdiction_profiles(body=body).filter(_profile_q("", body, filters))


def _course_institutions(body: RegulatoryBody) -> dict[int, list[int]]:
    """Institution id → ids of its courses, for the jurisdiction's institutions."""
    return {
        institution.pk: list(
            course_selectors.institution_courses(institution=institution).values_list(
                "pk", flat=True
            )
        )
        for institution in selectors.jurisdiction_institutions(body=body)
    }


def _in_range(prefix: str, filters: Filters) -> Q:
    condition = Q()
    if filters.date_from:
        condition &= Q(**{f"{prefix}__date__gte": filters.date_from})
    if filters.date_to:
        condition &= Q(**{f"{prefix}__date__lte": filters.date_to})
    return condition


def _labels(dimension: str, body: RegulatoryBody) -> dict:
    if dimension == "cadre":
        return dict(Cadre.choices)
    if dimension == "sector":
        return dict(Sector.choices)
    if dimension == "is_paid":
        return {True: _("Paid"), False: _("Unpaid")}
    if dimension == "institution":
        return {i.pk: i.name for i in selectors.jurisdiction_institutions(body=body)}
    return {}


def enrolments(*, body: RegulatoryBody, filters: Filters):
    found = course_selectors.enrolments_of().filter(_profile_q(LEARNER_PROFILE, body, filters))
    if filters.institution_id:
        courses = _course_institutions(body).get(filters.institution_id, [])
        found = found.filter(course_id__in=courses)
    return found


def certificates(*, body: RegulatoryBody, filters: Filters):
    found = certificate_selectors.certificates_of().filter(
        _profile_q(LEARNER_PROFILE, body, filters)
    )
    if filters.institution_id:
        found = found.filter(institution_id=filters.institution_id)
    return found


def valid_on(today: datetime.date) -> Q:
    return ~Q(state="revoked") & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))


def by_dimension(
    *, body: RegulatoryBody, filters: Filters, dimension: str, today=None, fresh: bool = False
) -> list[GroupRow]:
    """Workers, enrolled, trained (a course completed), certified (in the date range) and
    holding a valid certificate today, per value of ``dimension`` (kept a few minutes:
    :mod:`regulation.figures_cache`)."""
    today = today or timezone.localdate()
    return figures_cache.remembered(
        "dimension",
        body,
        (filters, dimension, today),
        lambda: _by_dimension(body=body, filters=filters, dimension=dimension, today=today),
        fresh=fresh,
    )


def _by_dimension(*, body: RegulatoryBody, filters: Filters, dimension: str, today):
    labels = _labels(dimension, body)
    rows: dict = {}

    def row(key) -> GroupRow:
        if key not in rows:
            rows[key] = GroupRow(
                key=key,
                label=str(labels.get(key, key or _("(not given)"))),
                workers=None if dimension == "institution" else 0,
            )
        return rows[key]

    if dimension == "institution":
        mapping = _course_institutions(body)
        enrolment_key = Case(
            *[When(course_id__in=ids, then=Value(pk)) for pk, ids in mapping.items() if ids],
            default=Value(None),
            output_field=IntegerField(),
        )
        certificate_key = "institution_id"
    else:
        worker_counts = (
            workers(body=body, filters=filters).values(dimension).annotate(n=Count("pk")).order_by()
        )
        for found in worker_counts:
            row(found[dimension]).workers = found["n"]
        enrolment_key = F(f"learner__learner_profile__{dimension}")
        certificate_key = f"learner__learner_profile__{dimension}"

    enrolled = (
        enrolments(body=body, filters=filters)
        .annotate(key=enrolment_key)
        .values("key")
        .annotate(
            enrolled=Count("learner_id", distinct=True, filter=_in_range("enrolled_at", filters)),
            trained=Count(
                "learner_id",
                distinct=True,
                filter=Q(completed_at__isnull=False) & _in_range("completed_at", filters),
            ),
        )
        .order_by()
    )
    for found in enrolled:
        if found["key"] is not None or dimension != "institution":
            target = row(found["key"])
            target.enrolled, target.trained = found["enrolled"], found["trained"]
    held = (
        certificates(body=body, filters=filters)
        .annotate(key=F(certificate_key))
        .values("key")
        .annotate(
            certified=Count(
                "learner_id",
                distinct=True,
                filter=~Q(state="revoked") & _in_range("issued_at", filters),
            ),
            valid=Count("learner_id", distinct=True, filter=valid_on(today)),
        )
        .order_by()
    )
    for found in held:
        target = row(found["key"])
        target.certified, target.valid = found["certified"], found["valid"]
    return sorted(rows.values(), key=lambda r: (r.label.lower(), str(r.key)))


def totals(rows: list[GroupRow]) -> GroupRow:
    """The sums of a breakdown's rows (a worker is in one group of any profile dimension)."""
    total = GroupRow(key=None, label=str(_("Total")))
    for r in rows:
        total.workers += r.workers or 0
        total.enrolled += r.enrolled
        total.trained += r.trained
        total.certified += r.certified
        total.valid += r.valid
    return total


def total_of(*, body: RegulatoryBody, filters: Filters, dimension: str, rows) -> GroupRow:
    """The breakdown's total row. Regions share out the workers, so their rows add up; a
    worker may train at several institutions, so by institution the total is counted by
    region instead (each worker once)."""
    if dimension != "institution":
        return totals(rows)
    return totals(by_dimension(body=body, filters=filters, dimension="region"))


def default_range(today=None) -> tuple[datetime.date, datetime.date]:
    """The last twelve months, this one included."""
    today = today or timezone.localdate()
    start = (today.replace(day=1) - relativedelta(months=11)).replace(day=1)
    return start, today


def _months(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    month, months = start.replace(day=1), []
    while month <= end:
        months.append(month)
        month += relativedelta(months=1)
    return months


def by_month(
    *, body: RegulatoryBody, filters: Filters, today=None, fresh: bool = False
) -> list[MonthRow]:
    """Certificates issued, revoked and expired in each month of the date range."""
    today = today or timezone.localdate()
    return figures_cache.remembered(
        "months",
        body,
        (filters, today),
        lambda: _by_month(body=body, filters=filters, today=today),
        fresh=fresh,
    )


def _by_month(*, body: RegulatoryBody, filters: Filters, today) -> list[MonthRow]:
    start, end = default_range(today)
    start, end = filters.date_from or start, filters.date_to or end
    rows = {month: MonthRow(month=month) for month in _months(start, end)}
    found = certificates(body=body, filters=filters)
    first = start.replace(day=1)

    def add(queryset, field_name: str, attribute: str) -> None:
        counted = (
            queryset.annotate(month=TruncMonth(field_name))
            .values("month")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for item in counted:
            month = item["month"]
            month = month.date() if isinstance(month, datetime.datetime) else month
            if month in rows:
                setattr(rows[month], attribute, item["n"])

    add(found.filter(issued_at__date__gte=first, issued_at__date__lte=end), "issued_at", "issued")
    add(
        found.filter(state="revoked", revoked_at__date__gte=first, revoked_at__date__lte=end),
        "revoked_at",
        "revoked",
    )
    add(
        found.exclude(state="revoked").filter(
            valid_until__gte=first, valid_until__lte=end, valid_until__lt=today
        ),
        "valid_until",
        "expired",
    )
    return list(rows.values())


def expiring(*, body: RegulatoryBody, filters: Filters, today=None, limit: int | None = 200):
    """Valid certificates whose validity ends in the next :data:`EXPIRING_DAYS` days."""
    today = today or timezone.localdate()
    return figures_cache.remembered(
        "expiring",
        body,
        (filters, today, limit),
        lambda: _expiring(body=body, filters=filters, today=today, limit=limit),
    )


def _expiring(*, body: RegulatoryBody, filters: Filters, today, limit):
    found = (
        certificates(body=body, filters=filters)
        .exclude(state="revoked")
        .filter(valid_until__gte=today, valid_until__lte=today + datetime.timedelta(EXPIRING_DAYS))
        .order_by("valid_until", "pk")
        .values("code", "holder_name", "course_title", "institution_name", "valid_until")
    )
    return list(found[:limit] if limit else found)


def expiring_count(*, body: RegulatoryBody, filters: Filters, today=None) -> int:
    today = today or timezone.localdate()
    return figures_cache.remembered(
        "expiring-count",
        body,
        (filters, today),
        lambda: _expiring_count(body=body, filters=filters, today=today),
    )


def _expiring_count(*, body: RegulatoryBody, filters: Filters, today) -> int:
    return (
        certificates(body=body, filters=filters)
        .exclude(state="revoked")
        .filter(valid_until__gte=today, valid_until__lte=today + datetime.timedelta(EXPIRING_DAYS))
        .count()
    )


def heat_map(*, body: RegulatoryBody, filters: Filters, framework, fresh: bool = False) -> HeatMap:
    """For each region and competency of ``framework``: the workers proficient in it."""
    return figures_cache.remembered(
        "heat-map",
        body,
        (filters, framework.pk if framework else None),
        lambda: _heat_map(body=body, filters=filters, framework=framework),
        fresh=fresh,
    )


def _heat_map(*, body: RegulatoryBody, filters: Filters, framework) -> HeatMap:
    chosen = workers(body=body, filters=filters)
    counts = dict(
        chosen.values_list("region").annotate(n=Count("pk")).order_by().values_list("region", "n")
    )
    result = HeatMap(framework=framework, regions=sorted(counts), workers=counts)
    if framework is None:
        return result
    result.competencies = list(competency_selectors.framework_competencies(framework=framework))
    proficient = (
        competency_selectors.proficient_attainments(framework=framework)
        .filter(_profile_q(LEARNER_PROFILE, body, filters))
        .values("competency_id", "learner__learner_profile__region")
        .annotate(n=Count("learner_id", distinct=True))
        .order_by()
    )
    for item in proficient:
        key = (item["learner__learner_profile__region"], item["competency_id"])
        result.proficient[key] = item["n"]
    return result
