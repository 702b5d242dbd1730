"""Writing a framework as the CSV Moodle's "Import competency framework" reads.

The file is written as Moodle's own export writes it, so that a Moodle export imported here
and exported again comes back the same (the README lists what it normalises): today's English
header; the framework row; then the competencies in tree order (parents before children,
siblings in order) with running Exported IDs, which points rules refer to; descriptions as HTML
(format 1: the imported HTML while the statement still says the same, else the statement with
its line breaks); related competencies on both rows of each pair, ordered as Moodle orders them
(by the path of Exported IDs, then by place among siblings); the scale configuration with an
entry for each value that is the default or proficient.

Not representable: associations other than ``isRelatedTo`` between two items of the framework
(crosswalks, ``precedes``, …), level codes and descriptions, mixed kinds at one depth (the most
common kind of each depth is written), kinds deeper than six levels, a framework without a
scale (Moodle refuses it), commas in level names (written as ";"), and evidence rules.

People open this file in spreadsheets, so a text cell beginning with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return gets an apostrophe in front (:mod:`lms.spreadsheets`), which
the import removes again.
"""

import io
import json
from collections import Counter, defaultdict

from competencies.interchange.data import FrameworkData, ItemData, LevelData
from competencies.interchange.markup import html_to_text, text_to_html
from competencies.interchange.moodle_columns import (
    FORMAT_HTML,
    MAX_TAXONOMY_LEVELS,
    MOODLE_HEADERS,
    MOODLE_SHORT_NAME_LENGTH,
    OUTCOME_COMPLETE,
    RULE_ALL,
    RULE_POINTS,
)
from competencies.interchange.moodle_values import as_flag, as_int
from lms.spreadsheets import csv_write_rows


def export_moodle_csv(data: FrameworkData) -> str:
    """``data`` as a CSV that Moodle's "Import competency framework" accepts."""
    ordered = tree_order(data.items)
    id_numbers = {item.key: item.code or item.identifier or item.key for item in data.items}
    exported = {item.key: number for number, (item, _) in enumerate(ordered, start=1)}
    children: dict[str, list[ItemData]] = defaultdict(list)
    for item in data.items:
        if item.parent_key is not None:
            children[item.parent_key].append(item)
    references = _related(data, ordered, exported)
    rows = [MOODLE_HEADERS, _framework_row(data, ordered)]
    for item, _depth in ordered:
        rule_type, rule_config = _rule_columns(item, children.get(item.key, []), exported)
        rows.append(
            [
                id_numbers.get(item.parent_key, "") if item.parent_key else "",
                id_numbers[item.key],
                item.abbreviated_statement.strip() or _moodle_short_name(item.full_statement),
                _description_html(item),
                FORMAT_HTML,
                "",
                "",
                rule_type,
                OUTCOME_COMPLETE if rule_type else "0",
                rule_config,
                ",".join(id_numbers[key].replace(",", "%2C") for key in references[item.key]),
                str(exported[item.key]),
                "",
                "",
            ]
        )
    out = io.StringIO()
    csv_write_rows(out, rows, lineterminator="\r\n")
    return out.getvalue()


def _framework_row(data: FrameworkData, ordered: list[tuple[ItemData, int]]) -> list[str]:
    if data.description_html and html_to_text(data.description_html) == data.description:
        description = data.description_html
    else:
        description = text_to_html(data.description)
    return [
        "",
        data.code or data.identifier or "",
        data.title,
        description,
        FORMAT_HTML,
        ",".join(level.name.strip().replace(",", ";") for level in data.levels),
        _scale_configuration(data.levels),
        "",
        "",
        "",
        "",
        "",
        "1",
        ",".join(_taxonomy(ordered)),
    ]


def _description_html(item: ItemData) -> str:
    """The imported HTML while it still says the statement; else the statement as HTML. A
    statement that is only its short name goes without a description, as it came."""
    if item.statement_html and html_to_text(item.statement_html) == item.full_statement:
        return item.statement_html
    if item.abbreviated_statement and item.abbreviated_statement == item.full_statement:
        return ""
    return text_to_html(item.full_statement)


def tree_order(items: list[ItemData]) -> list[tuple[ItemData, int]]:
    """Items depth first (parents before children, siblings in order), with their depth."""
    keys = {item.key for item in items}
    children: dict[str | None, list[tuple[int, ItemData]]] = defaultdict(list)
    for index, item in enumerate(items):
        parent = item.parent_key if item.parent_key in keys else None
        children[parent].append((index, item))
    ordered: list[tuple[ItemData, int]] = []
    seen: set[int] = set()
    stack = [(item, 0) for _, item in sorted(children[None], key=lambda p: (p[1].order, p[0]))]
    stack.reverse()
    while stack:
        item, depth = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        ordered.append((item, depth))
        below = sorted(children.get(item.key, []), key=lambda p: (p[1].order, p[0]))
        stack.extend((child, depth + 1) for _, child in reversed(below))
    # Items caught in a cycle are unreachable from the roots; keep them rather than lose them.
    ordered.extend((item, 0) for item in items if id(item) not in seen)
    return ordered


def _related(
    data: FrameworkData, ordered: list[tuple[ItemData, int]], exported: dict[str, int]
) -> dict[str, list[str]]:
    """Each item's related items (isRelatedTo, either way, within the framework), in the order
    Moodle lists them: by the path of their parents' Exported IDs, then by their place."""
    by_key = {item.key: item for item, _ in ordered}
    related: dict[str, set[str]] = defaultdict(set)
    for association in data.associations:
        origin, destination = association.origin_key, association.destination_key
        if (
            association.association_type == "isRelatedTo"
            and origin in by_key
            and destination in by_key
            and origin != destination
        ):
            related[origin].add(destination)
            related[destination].add(origin)

    def path(key: str) -> str:
        parts, item, seen = [], by_key[key], set()
        while item.parent_key in by_key and item.parent_key not in seen:
            seen.add(item.parent_key)
            item = by_key[item.parent_key]
            parts.append(str(exported[item.key]))
        return "/0/" + "".join(f"{part}/" for part in reversed(parts))

    return defaultdict(
        list,
        {
            key: sorted(keys, key=lambda k: (path(k), by_key[k].order, exported[k]))
            for key, keys in related.items()
        },
    )


def _taxonomy(ordered: list[tuple[ItemData, int]]) -> list[str]:
    kinds: dict[int, Counter] = defaultdict(Counter)
    for item, depth in ordered:
        if depth < MAX_TAXONOMY_LEVELS:
            kinds[depth][item.kind] += 1
    words = {"domain": "domain", "indicator": "indicator"}
    return [
        words.get(kinds[depth].most_common(1)[0][0], "competency") for depth in range(len(kinds))
    ]


def _scale_configuration(levels: list[LevelData]) -> str:
    """As Moodle stores it: its scale first, then the values that are the default (Moodle
    gives it when a rule completes a competency: our proficient level) or proficient."""
    if not levels:
        return ""
    proficient_from = next(
        (index for index, level in enumerate(levels) if level.is_proficient), None
    )
    default = proficient_from if proficient_from is not None else 0
    entries: list[dict] = [{"scaleid": "0"}]  # Moodle puts its own scale's id here on import
    for index, _level in enumerate(levels):
        proficient = proficient_from is not None and index >= proficient_from
        if proficient or index == default:
            entries.append(
                {
                    "id": index + 1,
                    "scaledefault": int(index == default),
                    "proficient": int(proficient),
                }
            )
    return json.dumps(entries, separators=(",", ":"))


def _rule_columns(
    item: ItemData, children: list[ItemData], exported: dict[str, int]
) -> tuple[str, str]:
    if item.rule_type == "all":
        return RULE_ALL, "null"
    if item.rule_type != "points":
        return "", "null"
    config = item.rule_config or {}
    lookup: dict[str, ItemData] = {}
    for child in children:
        for name in (child.code, child.identifier, child.key):
            if name:
                lookup.setdefault(str(name), child)
    entries = []
    for entry in config.get("competencies") or []:
        child = lookup.get(str(entry.get("id", ""))) if isinstance(entry, dict) else None
        if child is None or child.key not in exported:
            continue  # Moodle refuses a rule naming a competency that is not a child
        entries.append(
            {
                "id": exported[child.key],
                "points": as_int(entry.get("points")) or 0,
                "required": int(as_flag(entry.get("required", 0))),
            }
        )
    base = config.get("base") if isinstance(config.get("base"), dict) else {}
    points = as_int(base.get("points"))
    if not entries or not points:
        return "", "null"
    return RULE_POINTS, json.dumps(
        {"base": {"points": points}, "competencies": entries}, separators=(",", ":")
    )


def _moodle_short_name(statement: str) -> str:
    """A statement as a Moodle short name: one line, at most 100 characters."""
    text = " ".join(statement.split())
    if len(text) <= MOODLE_SHORT_NAME_LENGTH:
        return text
    cut = text[: MOODLE_SHORT_NAME_LENGTH - 3]
    if " " in cut:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip() + "..."
