"""The workforce statistics of a jurisdiction: the numbers behind every chart and export.

Each function counts in the database (GROUP BY) from the figures counted ahead into the
summary tables (:mod:`regulation.counting`), narrowed to the jurisdiction and the
regulator's :class:`Filters`. Workers are counted once per group, however many enrolments
or certificates they hold.
"""

import datetime
from dataclasses import dataclass, field

from dateutil.relativedelta import relativedelta
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from competencies import selectors as competency_selectors
from lms.models import Cadre, Sector
from regulation import figures_cache, selectors
from regulation.models import (
    CertificateFigures,
    CompetencyFigures,
    InstitutionWorkerFigures,
    RegulatoryBody,
    WorkerFigures,
)

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


def _profile_q(body: RegulatoryBody, filters: Filters) -> Q:
    """The jurisdiction and the profile filters, on a summary table's profile columns."""
    condition = selectors.jurisdiction_of(body=body).profiles_q()
    for name in ("region", "district", "cadre", "sector"):
        if value := getattr(filters, name):
            condition &= Q(**{name: value})
    if filters.paid:
        condition &= Q(is_paid=filters.paid == "paid")
    return condition


def _workers(*, body: RegulatoryBody, filters: Filters):
    """One row a worker of the jurisdiction, narrowed by the profile filters, with their
    first dates at any institution."""
    return WorkerFigures.objects.filter(_profile_q(body, filters))


def _workers_at_institutions(*, body: RegulatoryBody, filters: Filters):
    """One row for each worker and institution they enrolled at or were certified by (only
    the chosen institution's, when the filters name one)."""
    found = InstitutionWorkerFigures.objects.filter(_profile_q(body, filters))
    if filters.institution_id:
        found = found.filter(institution_id=filters.institution_id)
    return found


def _workers_counted(*, body: RegulatoryBody, filters: Filters):
    """The rows a worker's milestones are counted from: at the chosen institution when the
    filters name one, else across every institution."""
    if filters.institution_id:
        return _workers_at_institutions(body=body, filters=filters)
    return _workers(body=body, filters=filters)


def _certificates(*, body: RegulatoryBody, filters: Filters):
    found = CertificateFigures.objects.filter(_profile_q(body, filters))
    if filters.institution_id:
        found = found.filter(institution_id=filters.institution_id)
    return found


def day_start(day: datetime.date) -> datetime.datetime:
    """The first instant of ``day`` in the site's time zone (a bound an index can use)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _first_in_range(field_name: str, filters: Filters) -> Q:
    """The worker's first date of a kind is set and, with a date range, falls in it."""
    condition = Q(**{f"{field_name}__isnull": False})
    if filters.date_from:
        condition &= Q(**{f"{field_name}__gte": day_start(filters.date_from)})
    if filters.date_to:
        end = filters.date_to + datetime.timedelta(days=1)
        condition &= Q(**{f"{field_name}__lt": day_start(end)})
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


def valid_on(today: datetime.date) -> Q:
    """Certificates valid on ``today``: not revoked, and not past their end."""
    return ~Q(state="revoked") & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))


def _holds_valid(today: datetime.date) -> Q:
    """Workers holding a certificate valid on ``today`` (on :class:`WorkerFigures`)."""
    return Q(valid_open=True) | Q(valid_until__gte=today)


def _milestone_counts(filters: Filters, today: datetime.date) -> dict:
    return {
        "enrolled": Count("pk", filter=_first_in_range("enrolled_at", filters)),
        "trained": Count("pk", filter=_first_in_range("completed_at", filters)),
        "certified": Count("pk", filter=_first_in_range("certified_at", filters)),
        "valid": Count("pk", filter=_holds_valid(today)),
    }


def by_dimension(
    *, body: RegulatoryBody, filters: Filters, dimension: str, today=None
) -> list[GroupRow]:
    """Workers, enrolled, trained (a course completed), certified and holding a valid
    certificate today, per value of ``dimension``, from the figures counted ahead
    (:mod:`regulation.counting`). With a date range, a worker counts as enrolled, trained or
    certified when their first enrolment, completion or certificate falls in it."""
    today = today or timezone.localdate()
    return figures_cache.remembered(
        "dimension",
        body,
        (filters, dimension, today),
        lambda: _by_dimension(body=body, filters=filters, dimension=dimension, today=today),
    )


def _by_dimension(*, body: RegulatoryBody, filters: Filters, dimension: str, today):
    labels = _labels(dimension, body)
    counts = _milestone_counts(filters, today)
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
        counted = _workers_at_institutions(body=body, filters=filters).values(
            key=F("institution_id")
        )
    elif filters.institution_id:
        everyone = _workers(body=body, filters=filters)
        for found in everyone.values(dimension).annotate(n=Count("pk")).order_by():
            row(found[dimension]).workers = found["n"]
        counted = _workers_at_institutions(body=body, filters=filters).values(key=F(dimension))
    else:  # the workers and their milestones in one pass over the same rows
        counts["workers"] = Count("pk")
        counted = _workers(body=body, filters=filters).values(key=F(dimension))
    for found in counted.annotate(**counts).order_by():
        target = row(found["key"])
        if "workers" in found:
            target.workers = found["workers"]
        target.enrolled, target.trained = found["enrolled"], found["trained"]
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


def by_month(*, body: RegulatoryBody, filters: Filters, today=None) -> list[MonthRow]:
    """Certificates issued, revoked and expired in each month of the date range."""
    today = today or timezone.localdate()
    return figures_cache.remembered(
        "months",
        body,
        (filters, today),
        lambda: _by_month(body=body, filters=filters, today=today),
    )


def _by_month(*, body: RegulatoryBody, filters: Filters, today) -> list[MonthRow]:
    start, end = default_range(today)
    start, end = filters.date_from or start, filters.date_to or end
    rows = {month: MonthRow(month=month) for month in _months(start, end)}
    found = _certificates(body=body, filters=filters)
    first = start.replace(day=1)
    after = day_start(end + datetime.timedelta(days=1))

    def add(queryset, field_name: str, attribute: str) -> None:
        counted = (
            queryset.annotate(month=TruncMonth(field_name))
            .values("month")
            .annotate(n=Count("*"))
            .order_by()
        )
        for item in counted:
            month = item["month"]
            month = month.date() if isinstance(month, datetime.datetime) else month
            if month in rows:
                setattr(rows[month], attribute, item["n"])

    since = day_start(first)
    add(found.filter(issued_at__gte=since, issued_at__lt=after), "issued_at", "issued")
    add(found.filter(revoked_at__gte=since, revoked_at__lt=after), "revoked_at", "revoked")
    add(
        found.filter(expires_on__gte=first, expires_on__lte=end, expires_on__lt=today),
        "expires_on",
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


def _expiring_soon(*, body: RegulatoryBody, filters: Filters, today):
    return _certificates(body=body, filters=filters).filter(
        expires_on__gte=today, expires_on__lte=today + datetime.timedelta(EXPIRING_DAYS)
    )


def _expiring(*, body: RegulatoryBody, filters: Filters, today, limit):
    found = (
        _expiring_soon(body=body, filters=filters, today=today)
        .order_by("expires_on", "certificate_id")
        .values(
            code=F("certificate__code"),
            holder_name=F("certificate__holder_name"),
            course_title=F("certificate__course_title"),
            institution_name=F("certificate__institution_name"),
            valid_until=F("expires_on"),
        )
    )
    return list(found[:limit] if limit else found)


def expiring_count(*, body: RegulatoryBody, filters: Filters, today=None) -> int:
    today = today or timezone.localdate()
    return figures_cache.remembered(
        "expiring-count",
        body,
        (filters, today),
        lambda: _expiring_soon(body=body, filters=filters, today=today).count(),
    )


def heat_map(*, body: RegulatoryBody, filters: Filters, framework) -> HeatMap:
    """For each region and competency of ``framework``: the workers proficient in it."""
    return figures_cache.remembered(
        "heat-map",
        body,
        (filters, framework.pk if framework else None),
        lambda: _heat_map(body=body, filters=filters, framework=framework),
    )


def _heat_map(*, body: RegulatoryBody, filters: Filters, framework) -> HeatMap:
    counts = dict(
        _workers(body=body, filters=filters)
        .values("region")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("region", "n")
    )
    result = HeatMap(framework=framework, regions=sorted(counts), workers=counts)
    if framework is None:
        return result
    result.competencies = list(competency_selectors.framework_competencies(framework=framework))
    proficient = (
        CompetencyFigures.objects.filter(_profile_q(body, filters), framework=framework)
        .values("region", "competency_id")
        .annotate(n=Sum("workers"))
        .order_by()
    )
    for item in proficient:
        result.proficient[(item["region"], item["competency_id"])] = item["n"]
    return result


def valid_by_region(*, body: RegulatoryBody, filters: Filters, today) -> dict[str, int]:
    """Region → workers holding a certificate valid on ``today`` (at the chosen institution,
    when the filters name one)."""
    return dict(
        _workers_counted(body=body, filters=filters)
        .filter(_holds_valid(today))
        .values("region")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("region", "n")
    )
