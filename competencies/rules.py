"""Competency rules: how a parent item is attained from its children, as authors set them.

A rule is kept as Moodle keeps it (``rule_type`` and the JSON ``rule_config``, children named
by their codes), so it travels through Moodle's CSV and CASE unchanged, and
:func:`competencies.attainment.rollup` applies it (docs/decisions/0003-competency-attainment.md).
Writes go through :func:`item_rule_set`, which refuses a framework that is not a draft; the
readers here describe a stored rule as the rollup reads it, so what an author is shown is
what learners get.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from competencies.models import CompetencyItem, RuleType
from competencies.services import FrameworkError, _require_draft


class RuleError(FrameworkError):
    """A rule that cannot be saved, with every problem found (each names what to change)."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ChildRule:
    """What one child counts for in a points rule."""

    child: CompetencyItem
    points: int = 0
    required: bool = False


@dataclass(frozen=True)
class PointsRule:
    """A stored points rule as the rollup reads it: the children it names, by code."""

    needed: int
    children: dict[str, tuple[int, bool]]  # code -> (points, required)


def points_rule_read(config, *, child_codes: Sequence[str]) -> PointsRule | None:
    """Read a points rule's config as ``competencies.attainment.rollup`` does (None: malformed).

    Entries naming a code that is not among ``child_codes`` are left out, as the rollup
    leaves them out.
    """
    codes = {code for code in child_codes if code}
    try:
        config = config or {}
        needed = int((config.get("base") or {}).get("points") or 0)
        children = {
            str(entry.get("id")): (
                int(entry.get("points") or 0),
                bool(int(entry.get("required") or 0)),
            )
            for entry in config.get("competencies") or []
            if str(entry.get("id")) in codes
        }
    except (AttributeError, TypeError, ValueError):
        return None
    return PointsRule(needed=needed, children=children)


def rule_summary(*, item: CompetencyItem, child_codes: Sequence[str]) -> str:
    """One line saying how ``item`` is attained from its children (``child_codes``, in order).

    Items without a rule are attained as with "all", so they say so too.
    """
    if item.rule_type != RuleType.POINTS:
        return _("Attained from its children: when all of them are attained")
    rule = points_rule_read(item.rule_config, child_codes=child_codes)
    if rule is None or rule.needed <= 0:
        return _("Never attained from its children: its points rule is incomplete")
    total = sum(points for points, _required in rule.children.values())
    if total < rule.needed:
        return _(
            "Never attained from its children: their points add up to %(total)s, fewer than "
            "the %(needed)s needed"
        ) % {"total": total, "needed": rule.needed}
    points = ngettext("%(points)s point", "%(points)s points", rule.needed) % {
        "points": rule.needed
    }
    required = [code for code in child_codes if rule.children.get(code, (0, False))[1]]
    if required:
        return _("Attained from its children: %(points)s (%(required)s required)") % {
            "points": points,
            "required": ", ".join(required),
        }
    return _("Attained from its children: %(points)s") % {"points": points}


def _child_name(child: CompetencyItem) -> str:
    return child.code or f"“{child.label}”"


def _points_problems(
    *, points_needed, given: dict[int, ChildRule], children: list[CompetencyItem]
) -> list[str]:
    problems = []
    needed_ok = isinstance(points_needed, int) and points_needed >= 1
    if not needed_ok:
        problems.append(_("Points needed: give a whole number of at least 1."))
    total = 0
    for child in children:
        rule = given.get(child.pk)
        if rule is None:
            continue
        if not isinstance(rule.points, int) or rule.points < 0:
            problems.append(
                _("Points of %(child)s: give a whole number, 0 or more.")
                % {"child": _child_name(child)}
            )
            continue
        total += rule.points
        if (rule.points or rule.required) and not child.code:
            problems.append(
                _(
                    "“%(child)s” has no code, and a points rule names children by their codes: "
                    "give it a code first, or give it no points and do not mark it required."
                )
                % {"child": child.label}
            )
    if needed_ok and total < points_needed:
        problems.append(
            _(
                "The rule can never be met: the children's points add up to %(total)s, fewer "
                "than the %(needed)s needed."
            )
            % {"total": total, "needed": points_needed}
        )
    return problems


@transaction.atomic
def item_rule_set(
    *,
    item: CompetencyItem,
    rule_type: str,
    points_needed: int | None = None,
    children: Sequence[ChildRule] = (),
) -> CompetencyItem:
    """Set how ``item`` is attained from its children; only while its framework is a draft.

    For a points rule, ``children`` gives each child's points and whether it is required
    (children left out count for nothing); the rule is stored in Moodle's format, naming every
    child that has a code. Other rules store no configuration. Raises :class:`RuleError`
    listing every problem, or :class:`FrameworkError` when the framework is not a draft or the
    item has no children; nothing is saved then.
    """
    _require_draft(item.framework)  # re-reads the status under a lock on the framework's row
    if rule_type not in RuleType.values:
        raise FrameworkError(
            _("“%(rule)s” is not a competency rule; choose one of: %(rules)s.")
            % {"rule": rule_type, "rules": ", ".join(v for v in RuleType.values if v)}
        )
    current = list(CompetencyItem.objects.filter(parent_id=item.pk).order_by("order", "pk"))
    if not current:
        raise FrameworkError(
            _("“%(item)s” has no children: a rule says how a parent is attained from them.")
            % {"item": item}
        )
    config: dict = {}
    if rule_type == RuleType.POINTS:
        given = {rule.child.pk: rule for rule in children}
        strangers = set(given) - {child.pk for child in current}
        if strangers:
            raise FrameworkError(
                _("Only the children of “%(item)s” can count towards its rule.") % {"item": item}
            )
        problems = _points_problems(points_needed=points_needed, given=given, children=current)
        if problems:
            raise RuleError(problems)
        none = ChildRule(child=item)
        config = {
            "base": {"points": points_needed},
            "competencies": [
                {
                    "id": child.code,
                    "points": given.get(child.pk, none).points,
                    "required": int(given.get(child.pk, none).required),
                }
                for child in current
                if child.code
            ],
        }
    item.rule_type = rule_type
    item.rule_config = config
    item.save(update_fields=["rule_type", "rule_config", "updated_at"])
    return item
