"""Each workspace view as a table: the rows its page shows beside the chart and its
CSV and XLSX exports hold. One function per view; the first row is the header."""

from django.http import Http404
from django.utils.translation import gettext as _

from regulation import cpd, figures, planning
from regulation.models import RegulatoryBody


def statistics_table(*, body: RegulatoryBody, filters: figures.Filters, group: str) -> list:
    rows = figures.by_dimension(body=body, filters=filters, dimension=group)
    total = figures.total_of(body=body, filters=filters, dimension=group, rows=rows)
    header = [
        str(figures.DIMENSIONS[group]),
        _("Workers"),
        _("Enrolled"),
        _("Trained"),
        _("Certified"),
        _("Holding a valid certificate"),
    ]
    return [
        header,
        *[
            [r.label, "" if r.workers is None else r.workers, r.enrolled, r.trained]
            + [r.certified, r.valid]
            for r in rows
        ],
        [total.label, total.workers, total.enrolled, total.trained, total.certified, total.valid],
    ]


def months_table(*, body: RegulatoryBody, filters: figures.Filters) -> list:
    rows = figures.by_month(body=body, filters=filters)
    return [
        [_("Month"), _("Issued"), _("Revoked"), _("Expired")],
        *[[r.month.strftime("%Y-%m"), r.issued, r.revoked, r.expired] for r in rows],
    ]


def expiring_table(*, body: RegulatoryBody, filters: figures.Filters) -> list:
    rows = figures.expiring(body=body, filters=filters, limit=None)
    return [
        [_("Code"), _("Holder"), _("Course"), _("Institution"), _("Valid until")],
        *[
            [
                r["code"],
                r["holder_name"],
                r["course_title"],
                r["institution_name"],
                r["valid_until"].isoformat(),
            ]
            for r in rows
        ],
    ]


def heat_map_table(heat: figures.HeatMap) -> list:
    header = [_("Region"), _("Workers")] + [
        item.code or item.abbreviated_statement or item.full_statement[:40]
        for item in heat.competencies
    ]
    body = []
    for region in heat.regions:
        cells = []
        for item in heat.competencies:
            share = heat.share(region, item.pk)
            cells.append("" if share is None else round(share * 100, 1))
        body.append([region or _("(not given)"), heat.workers.get(region, 0), *cells])
    return [header, *body]


def planning_table(*, body: RegulatoryBody, filters: figures.Filters) -> list:
    rows = planning.plan(body=body, filters=filters)
    return [
        [
            _("Region"),
            _("Children under 18"),
            _("Certified workers"),
            _("Workers per 100,000 children"),
            _("Target per 100,000 children"),
            _("Workers needed"),
            _("Gap"),
        ],
        *[
            [
                r.region,
                r.children,
                r.workers,
                r.per_100k,
                r.target_per_100k if r.target_per_100k is not None else "",
                r.needed if r.needed is not None else "",
                r.gap if r.gap is not None else "",
            ]
            for r in rows
        ],
    ]


def cpd_behind_table(*, body: RegulatoryBody, requirement_id: str, region: str) -> list:
    """Who is behind on one of the body's requirements (another body's is not found)."""
    requirement = cpd.requirements_of_body(body=body).filter(pk=_int(requirement_id)).first()
    if requirement is None:
        raise Http404
    return [
        [
            _("Worker"),
            _("Registration number"),
            _("Region"),
            _("Cadre"),
            _("Hours done"),
            _("Hours required"),
            _("Hours remaining"),
        ],
        *[
            [
                r.name,
                r.registration_number,
                r.region,
                r.cadre,
                float(r.done),
                float(r.required),
                float(r.remaining),
            ]
            for r in cpd.behind(requirement=requirement, region=region)
        ],
    ]


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0
