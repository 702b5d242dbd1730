"""What reading and writing CASE share: identifiers, dates, field sizes, the reader's notes."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from competencies.interchange.case_schema import is_uuid, parse_date_time

CASE_API_PATH = "/ims/case/v1p1"
#: Namespace of the identifiers derived (uuid5) for records this service does not store.
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:competencies:case:v1p1")
MAX_POSITIVE_INT = 2_147_483_647  # PositiveIntegerField on PostgreSQL


def derived_id(*parts: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, ":".join(parts)))


def normalise_id(value: str) -> str:
    """UUIDs in their canonical lower-case form (CASE files vary); anything else as given."""
    value = value.strip()
    return str(uuid.UUID(value)) if is_uuid(value) else value


def moment(value) -> datetime | None:
    """A CASE date-time as an aware datetime (one without a zone is UTC), or None."""
    parsed = parse_date_time(value) if isinstance(value, str) else None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def max_length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def whole_number(value) -> int | None:
    try:
        return int(str(value).strip())
    except ValueError:
        return None


@dataclass
class Reading:
    """What reading one package found: problems that refuse it, and notes for the report."""

    errors: list[str] = field(default_factory=list)
    report: list[str] = field(default_factory=list)

    def text(self, record: dict, name: str, place: str, limit: int | None = None) -> str:
        value = record.get(name, "")
        value = value.strip() if isinstance(value, str) else ""
        if limit is not None and len(value) > limit:
            self.errors.append(
                f"{place}.{name}: {len(value):,} characters, but at most {limit} can be kept"
            )
        return value

    def attributes(self, record: dict, read: set[str]) -> dict:
        """The record's CASE 1.1 fields that no field of ours holds, to give back on export."""
        return {key: value for key, value in record.items() if key not in read}
