"""Reading the values in a Moodle framework CSV's cells: the scale, rules, links and taxonomy."""

import json
import re
from collections import Counter
from dataclasses import dataclass, field

from competencies.interchange.data import AssociationData, ItemData, LevelData
from competencies.interchange.moodle_columns import (
    MAX_LEVEL_NAME,
    MAX_LEVELS,
    MAX_TAXONOMY_LEVELS,
    TAXONOMY_KINDS,
    TRUE,
)


@dataclass
class CompetencyRow:
    number: int
    item: ItemData
    rule_config: str = ""
    references: list[str] = field(default_factory=list)


def as_int(value) -> int | None:
    """A whole number below a billion, as JSON or as digits in a string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if abs(value) < 10**9 else None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,9}", value.strip()):
        return int(value.strip())
    return None


def as_flag(value) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in TRUE
    return False


# --- The scale ----------------------------------------------------------------------------


def parse_scale(values: str, configuration: str, place: str) -> tuple[list[LevelData], list[str]]:
    """The levels, lowest first. Moodle marks each proficient value; here a scale has one
    proficient level, from which up a learner counts as competent: the lowest value Moodle
    marks (so "Competent" and "Proficient" marked both stay proficient)."""
    if not values and not configuration:
        return [], []
    if not values:
        return [], [f"{place}: Scale configuration is given but Scale values is empty"]
    names = [name.strip() for name in values.split(",")]
    if len(names) > MAX_LEVELS:
        return [], [f"{place}: the scale has {len(names)} values; the limit is {MAX_LEVELS}"]
    errors = [
        f"{place}: the scale value '{name[:30]}…' is {len(name)} characters long; "
        f"the limit is {MAX_LEVEL_NAME}"
        for name in names
        if len(name) > MAX_LEVEL_NAME
    ]
    if not configuration:
        return [], [
            f"{place}: Scale configuration is empty; it must say which scale values are "
            'proficient, e.g. [{"scaleid":"1"},{"id":2,"scaledefault":1,"proficient":1}]'
        ]
    try:
        entries = json.loads(configuration)
    except (ValueError, RecursionError):
        return [], [f"{place}: Scale configuration is not valid JSON"]
    if not isinstance(entries, list):
        return [], [f"{place}: Scale configuration must be a JSON list"]
    proficient = _proficient_values(entries, len(names), place, errors)
    if not proficient and not errors:
        errors.append(f"{place}: Scale configuration marks no scale value as proficient")
    lowest = min(proficient) if proficient else None
    levels = [
        LevelData(name=name, is_proficient=index == lowest)
        for index, name in enumerate(names, start=1)
    ]
    return levels, errors


def _proficient_values(entries: list, count: int, place: str, errors: list[str]) -> set[int]:
    proficient: set[int] = set()
    for entry in entries:
        if not isinstance(entry, dict):
            errors.append(f"{place}: Scale configuration has an entry that is not an object")
            continue
        if "id" not in entry:
            continue  # the first entry names Moodle's scale: {"scaleid": "2"}
        position = as_int(entry["id"])
        if position is None or not 1 <= position <= count:
            errors.append(
                f"{place}: Scale configuration refers to value {json.dumps(entry['id'])[:30]}, "
                f"but Scale values has {count} values (numbered from 1)"
            )
            continue
        if as_flag(entry.get("proficient", 0)):
            proficient.add(position)
    return proficient


# --- Order and kinds ----------------------------------------------------------------------


def set_order_and_kinds(items: list[ItemData], taxonomy: list[str]) -> None:
    """Siblings in file order; each item's kind from the taxonomy word of its depth."""
    by_key: dict[str, ItemData] = {}
    for item in items:
        by_key.setdefault(item.key, item)
    siblings: Counter = Counter()
    for item in items:
        item.order = siblings[item.parent_key]
        siblings[item.parent_key] += 1
    depths: dict[str, int] = {}
    for item in items:
        # Walk up to a known depth, a root, a missing parent or a cycle (reported elsewhere).
        path, current = [], item
        while current.key not in depths and current.key not in path:
            path.append(current.key)
            parent = by_key.get(current.parent_key) if current.parent_key else None
            if parent is None:
                break
            current = parent
        depth = depths.get(current.key, -1) if current.key not in path else -1
        for key in reversed(path):
            depth += 1
            depths[key] = depth
    for item in items:
        depth = depths.get(item.key, 0)
        word = taxonomy[depth] if depth < min(len(taxonomy), MAX_TAXONOMY_LEVELS) else ""
        item.kind = TAXONOMY_KINDS.get(word, "competency")


# --- Rules and cross-references -----------------------------------------------------------

_SHAPE = (
    'it must look like {"base":{"points":2},"competencies":[{"id":12,"points":1,"required":0}]}'
)


def points_config(
    row: CompetencyRow, by_key: dict[str, CompetencyRow], exported_ids: dict[str, CompetencyRow]
) -> tuple[dict, list[str]]:
    """A points rule with its children named by ID number (Moodle names them by its ids)."""
    place = f"row {row.number}"
    try:
        config = json.loads(row.rule_config or "null")
    except (ValueError, RecursionError):
        return {}, [f"{place}: Rule config is not valid JSON"]
    if not isinstance(config, dict) or not isinstance(config.get("base"), dict):
        return {}, [f"{place}: Rule config of a points rule is missing; {_SHAPE}"]
    required_points = as_int(config["base"].get("points"))
    competencies = config.get("competencies")
    if required_points is None or required_points < 1 or not isinstance(competencies, list):
        return {}, [f"{place}: Rule config of a points rule is incomplete; {_SHAPE}"]
    if not competencies:
        return {}, [f"{place}: Rule config of a points rule names no competencies"]
    errors: list[str] = []
    normalised: list[dict] = []
    for entry in competencies:
        child = _rule_child(entry, row, by_key, exported_ids, normalised, errors)
        if child is not None:
            normalised.append(child)
    total = sum(entry["points"] for entry in normalised)
    if not errors and total < required_points:
        errors.append(
            f"{place}: the rule needs {required_points} points but its competencies give only "
            f"{total}"
        )
    return {"base": {"points": required_points}, "competencies": normalised}, errors


def _rule_child(entry, row, by_key, exported_ids, chosen: list[dict], errors: list[str]):
    place = f"row {row.number}"
    if not isinstance(entry, dict) or "id" not in entry:
        errors.append(f"{place}: Rule config has a competency without an id; {_SHAPE}")
        return None
    reference = str(entry["id"]).strip()
    target = exported_ids.get(reference) or by_key.get(reference)
    points = as_int(entry.get("points"))
    if target is None:
        errors.append(
            f"{place}: Rule config refers to competency '{reference[:60]}', which is not in "
            "the file (neither an Exported ID nor an ID number)"
        )
        return None
    key = target.item.key
    if target.item.parent_key != row.item.key:
        errors.append(
            f"{place}: Rule config refers to '{key}', which is not a child of '{row.item.key}'"
        )
    elif any(chosen_entry["id"] == key for chosen_entry in chosen):
        errors.append(f"{place}: Rule config names '{key}' twice")
    elif points is None or points < 0:
        errors.append(f"{place}: Rule config gives '{key}' no valid number of points")
    else:
        return {"id": key, "points": points, "required": int(as_flag(entry.get("required", 0)))}
    return None


def cross_references(
    rows: list[CompetencyRow], by_key: dict[str, CompetencyRow]
) -> tuple[list[AssociationData], list[str]]:
    """One isRelatedTo per pair: Moodle's related competencies are symmetric, and its export
    lists each pair on both rows."""
    associations: list[AssociationData] = []
    errors: list[str] = []
    pairs: set[frozenset[str]] = set()
    for row in rows:
        place = f"row {row.number}"
        for reference in row.references:
            if reference == row.item.key:
                errors.append(f"{place}: '{reference}' is cross-referenced to itself")
            elif reference not in by_key:
                errors.append(
                    f"{place}: cross-referenced ID number '{reference}' points at nothing in "
                    "the file"
                )
            elif frozenset((row.item.key, reference)) not in pairs:
                pairs.add(frozenset((row.item.key, reference)))
                associations.append(
                    AssociationData(
                        association_type="isRelatedTo",
                        origin_key=row.item.key,
                        destination_key=reference,
                        place=place,
                        origin_label="ID number",
                        destination_label="cross-referenced ID number",
                        external_destination_allowed=False,
                    )
                )
    return associations, errors
