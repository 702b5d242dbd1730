"""The in-memory shape of a framework that importers produce and exporters consume.

CASE JSON and Moodle CSV are parsed into :class:`FrameworkData` (each record remembers its
place in the file, for error messages); :func:`competencies.services.framework_import`
checks what no single format can (duplicates, cycles, dangling links) and writes it all or
nothing. Exporters read :class:`FrameworkData` built by
:func:`competencies.selectors.framework_data`, so both formats see the same snapshot.
"""

from dataclasses import dataclass, field

#: Imports larger than this are refused before parsing (5,000-item packages are ~5 MB).
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
class ItemData:
    key: str  # what other records of the same file use to point at this one
    full_statement: str
    place: str = ""
    identifier: str | None = None
    uri: str = ""
    code: str = ""
    kind: str = "competency"
    abbreviated_statement: str = ""
    notes: str = ""
    language: str = ""
    parent_key: str | None = None
    parent_label: str = "parent"  # how the file names the parent link, for messages
    order: int = 0
    rule_type: str = ""
    rule_config: dict = field(default_factory=dict)
    evidence_rule: str = ""  # empty: the framework's
    previous_identifier: str | None = None


@dataclass
class AssociationData:
    association_type: str
    origin_key: str
    destination_key: str
    place: str = ""
    identifier: str | None = None
    destination_uri: str = ""
    destination_title: str = ""
    sequence_number: int | None = None
    notes: str = ""
    origin_label: str = "origin"
    destination_label: str = "destination"
    #: CASE may point at items of frameworks we do not hold; Moodle cross-references may not.
    external_destination_allowed: bool = True


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
    licence: str = ""
    licence_uri: str = ""
    official_source_url: str = ""
    status: str = "draft"
    last_change: str = ""
    evidence_rule: str = "any"
    levels: list[LevelData] = field(default_factory=list)
    items: list[ItemData] = field(default_factory=list)
    associations: list[AssociationData] = field(default_factory=list)


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
