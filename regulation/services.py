"""Writes of the regulation app: bodies, their regulators, population figures and targets."""

import csv
import io
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from lms import services as lms_services
from regulation.models import PopulationFigure, RegulatorMembership, RegulatoryBody

#: The population file's columns, in this order, with a header line.
POPULATION_COLUMNS = ("region", "total_population", "children_under_18")
#: More lines than any country has regions: a bigger file is a mistake.
POPULATION_MAX_LINES = 2000


class PopulationFileError(ValueError):
    """The population file was refused: ``problems`` lists each one with its line number."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PopulationRow:
    region: str
    total_population: int
    children: int


@transaction.atomic
def body_create(*, name: str, slug: str, country: str, regions=()) -> RegulatoryBody:
    return RegulatoryBody.objects.create(
        name=name, slug=slug, country=country.upper(), regions=list(regions)
    )


@transaction.atomic
def regulator_add(*, user, body: RegulatoryBody) -> RegulatorMembership:
    """Make ``user`` a regulator of ``body`` (and so a regulator of the site: read-only
    access, a second factor). Adding them again changes nothing; a person works for one body."""
    membership, created = RegulatorMembership.objects.get_or_create(
        user=user, defaults={"body": body}
    )
    if not created and membership.body_id != body.pk:
        raise ValueError(
            _("%(user)s already works for %(body)s.") % {"user": user, "body": membership.body}
        )
    lms_services.regulator_grant(user=user)
    return membership


def _whole_number(text: str, *, line: int, column: str, problems: list[str]) -> int | None:
    cleaned = text.strip().replace(",", "").replace(" ", "").replace("_", "")
    if not cleaned.isdigit():
        problems.append(
            _("Line %(line)s: %(column)s must be a whole number, not “%(value)s”.")
            % {"line": line, "column": column, "value": text.strip()}
        )
        return None
    return int(cleaned)


def population_parse(content: bytes) -> list[PopulationRow]:
    """Read a population CSV (region, total population, children under 18) or raise
    :class:`PopulationFileError` listing every problem with its line number."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PopulationFileError(
            [_("The file is not UTF-8 text: save it as CSV (UTF-8).")]
        ) from None
    lines = list(csv.reader(io.StringIO(text)))
    if not lines:
        raise PopulationFileError([_("The file is empty.")])
    if len(lines) > POPULATION_MAX_LINES:
        raise PopulationFileError(
            [_("The file has more than %(n)s lines.") % {"n": POPULATION_MAX_LINES}]
        )
    header = [cell.strip().lower().replace(" ", "_") for cell in lines[0]]
    if header[:3] != list(POPULATION_COLUMNS):
        raise PopulationFileError(
            [
                _("Line 1: the header must be “%(expected)s”.")
                % {"expected": ",".join(POPULATION_COLUMNS)}
            ]
        )
    problems: list[str] = []
    rows: list[PopulationRow] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 3:
            problems.append(
                _("Line %(line)s: expected 3 values, found %(n)s.")
                % {"line": number, "n": len(cells)}
            )
            continue
        region = cells[0].strip()
        if not region:
            problems.append(_("Line %(line)s: the region is empty.") % {"line": number})
            continue
        if len(region) > 120:
            problems.append(
                _("Line %(line)s: the region's name is longer than 120 characters.")
                % {"line": number}
            )
            continue
        if region.lower() in seen:
            problems.append(
                _("Line %(line)s: %(region)s is already on line %(first)s.")
                % {"line": number, "region": region, "first": seen[region.lower()]}
            )
            continue
        seen[region.lower()] = number
        total = _whole_number(
            cells[1], line=number, column=_("total population"), problems=problems
        )
        children = _whole_number(
            cells[2], line=number, column=_("children under 18"), problems=problems
        )
        if total is None or children is None:
            continue
        if children > total:
            problems.append(
                _("Line %(line)s: there are more children (%(children)s) than people (%(total)s).")
                % {"line": number, "children": children, "total": total}
            )
            continue
        rows.append(PopulationRow(region=region, total_population=total, children=children))
    if problems:
        raise PopulationFileError(problems)
    if not rows:
        raise PopulationFileError([_("The file has no regions.")])
    return rows


@transaction.atomic
def population_replace(*, body: RegulatoryBody, content: bytes) -> list[PopulationFigure]:
    """Replace the body's population figures with the file's, all or nothing."""
    rows = population_parse(content)
    RegulatoryBody.objects.select_for_update().get(pk=body.pk)  # one upload at a time
    PopulationFigure.objects.filter(body=body).delete()
    return PopulationFigure.objects.bulk_create(
        PopulationFigure(
            body=body, region=r.region, total_population=r.total_population, children=r.children
        )
        for r in rows
    )


@transaction.atomic
def target_set(*, body: RegulatoryBody, children_per_worker: int | None) -> RegulatoryBody:
    if children_per_worker is not None and children_per_worker < 1:
        raise ValueError(_("The target must be at least one child per worker."))
    body.children_per_worker_target = children_per_worker
    body.save(update_fields=["children_per_worker_target"])
    return body
