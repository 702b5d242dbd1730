"""Workers per 100,000 children by region, against the body's target."""

import math
from dataclasses import dataclass

from django.utils import timezone

from regulation import figures, figures_cache, selectors
from regulation.models import RegulatoryBody

PER_CHILDREN = 100_000


@dataclass
class RegionPlan:
    region: str
    children: int
    total_population: int
    workers: int  # holding a valid certificate today
    per_100k: float
    target_per_100k: float | None
    needed: int | None
    gap: int | None  # workers still needed to reach the target (0 when reached)


def plan(*, body: RegulatoryBody, filters: figures.Filters, today=None) -> list[RegionPlan]:
    """One row per region with population figures, fewest workers per child first (kept a
    few minutes: :mod:`regulation.figures_cache`)."""
    today = today or timezone.localdate()
    return figures_cache.remembered(
        "planning",
        body,
        (filters, today, body.children_per_worker_target),
        lambda: _plan(body=body, filters=filters, today=today),
    )


def _plan(*, body: RegulatoryBody, filters: figures.Filters, today) -> list[RegionPlan]:
    held = figures.valid_by_region(body=body, filters=filters, today=today)
    target = body.children_per_worker_target
    rows = []
    for figure in selectors.population_figures(body=body):
        workers = held.get(figure.region, 0)
        per_100k = workers * PER_CHILDREN / figure.children if figure.children else 0.0
        needed = math.ceil(figure.children / target) if target else None
        rows.append(
            RegionPlan(
                region=figure.region,
                children=figure.children,
                total_population=figure.total_population,
                workers=workers,
                per_100k=round(per_100k, 1),
                target_per_100k=round(PER_CHILDREN / target, 1) if target else None,
                needed=needed,
                gap=max(needed - workers, 0) if needed is not None else None,
            )
        )
    return sorted(rows, key=lambda r: (r.per_100k, r.region))
