"""The in-memory shape of a framework that importers produce and exporters consume.

CASE JSON and Moodle CSV are parsed into :class:`FrameworkData` (each record remembers its
place in the file, for error messages); :func:`competencies.interchange.importing.framework_import`
checks what no single format can (duplicates, cycles, dangling links) and writes it all or
nothing. Exporters read :class:`FrameworkData` built by
:func:`competencies.selectors.framework_data`, so both formats see the same snapshot.

Besides what the service itself uses, records carry what a file said that only an export in
the same format needs again (a CASE record's URI, date, unmodelled fields and extensions; a
Moodle description's HTML), so that an import followed by an export gives the file back.
"""

from dataclasses import dataclass, field
from datetime import datetime

#: Imports larger than this are refused before parsing; frameworks are far smaller.
MAX_IMPORT_BYTES = 20 * 1024 * 1024


class FrameworkFileError(Exception):
    """A file that cannot be imported. ``errors`` lists every problem found, with its place."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors[:20]))


@dataclass
class LevelData:
    name: str
    code: str = ""
    description: str = ""
    is_proficient: bool = False
    identifier: str | None = None


@dataclass
class ItemTypeData:
    """A CASE CFItemType; ``identifier`` is also how items name it."""

    identifier: str
    title: str
    uri: str = ""
    description: str = ""
    hierarchy_code: str = ""
    type_code: str = ""
    extensions: dict = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass
class ParentAssociationData:
    """The identity of the CASE ``isChildOf`` association that places an item in the tree."""

    identifier: str
    uri: str = ""
    case_attributes: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass
class ItemData:
    key: str  # what other records of the same file use to point at this one
    full_statement: str
    place: str = ""
    identifier: str | None = None
    uri: str = ""
    code: str = ""
    kind: str = "competency"
    abbreviated_statement: str = ""
    statement_html: str = ""
    notes: str = ""
    language: str = ""
    parent_key: str | None = None
    parent_label: str = "parent"  # how the file names the parent link, for messages
    parent_association: ParentAssociationData | None = None
    order: int = 0
    rule_type: str = ""
    rule_config: dict = field(default_factory=dict)
    evidence_rule: str = ""  # empty: the framework's
    previous_identifier: str | None = None
    item_type: str | None = None  # an ItemTypeData identifier
    case_attributes: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass
class AssociationData:
    association_type: str
    origin_key: str
    destination_key: str
    place: str = ""
    identifier: str | None = None
    uri: str = ""
    destination_uri: str = ""
    destination_title: str = ""
    sequence_number: int | None = None
    notes: str = ""
    origin_label: str = "origin"
    destination_label: str = "destination"
    #: CASE may point at items of frameworks we do not hold; Moodle cross-references may not.
    external_destination_allowed: bool = True
    case_attributes: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass
class FrameworkData:
    title: str
    creator: str = ""
    place: str = ""
    identifier: str | None = None
    uri: str = ""
    code: str = ""
    version: str = "1.0"
    language: str = "en"
    publisher: str = ""
    description: str = ""
    description_html: str = ""
    licence: str = ""
    licence_uri: str = ""
    official_source_url: str = ""
    status: str = "draft"
    adoption_status: str = ""
    updated_at: datetime | None = None
    evidence_rule: str = "any"
    levels: list[LevelData] = field(default_factory=list)
    items: list[ItemData] = field(default_factory=list)
    associations: list[AssociationData] = field(default_factory=list)
    item_types: list[ItemTypeData] = field(default_factory=list)
    case_attributes: dict = field(default_factory=dict)
    case_definitions: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)
    #: What the import read differently from how the file wrote it (a field kept in
    #: extensions, text read as a number…): one line each, for the person importing.
    report: list[str] = field(default_factory=list)


def decode_text(data: bytes, *, what: str) -> str:
    """Decode an uploaded file as UTF-8 (a BOM is fine), refusing empty and oversized files."""
    if not data or not data.strip():
        raise FrameworkFileError([f"The {what} file is empty."])
    if len(data) > MAX_IMPORT_BYTES:
        raise FrameworkFileError(
            [f"The {what} file is {len(data):,} bytes; the limit is {MAX_IMPORT_BYTES:,} bytes."]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FrameworkFileError(
            [
                f"The {what} file is not UTF-8 text (byte {error.start + 1} cannot be read). "
                "Save it as UTF-8 and try again."
            ]
        ) from None
