"""Writing a framework as a CASE 1.1 CFPackage that validates against the official schema.

How the service's framework maps onto CASE
------------------------------------------
* Framework ↔ ``CFDocument``; its ID number travels as ``extensions.humanCodingScheme``.
  ``adoptionStatus``: the imported one while the framework is a draft here, else from its
  status (published: Adopted, retired: Deprecated).
* Item ↔ ``CFItem``; ``CFItemType`` is the type the item came with, else its kind ("Domain",
  "Competency", "Indicator"). Moodle-style rules travel as ``extensions.ruleType`` /
  ``ruleConfig``, evidence rules as ``extensions.evidenceRule`` (on the CFDocument the
  framework's, exported unless ``any``; on a CFItem its own).
* The tree ↔ ``isChildOf`` associations (origin = child, destination = parent, or the
  CFDocument at the top level), numbered 1, 2, 3… among siblings; an imported one keeps its
  identifier, URI, date and extensions, one made here gets an identifier derived (uuid5) from
  the child and the parent, the same in every export.
* Every other association is kept with its identity; an item's previous version is a
  ``replacedBy`` from it.
* The proficiency scale ↔ the first ``CFRubric``: one criterion whose levels (lowest first)
  have the level's name as ``quality``, and ``extensions: [{"proficient": …, "code": …}]``:
  ``proficient`` is true from the lowest level at which a learner counts as competent up.
* What an import kept that no column holds (other CASE 1.1 fields, extensions, CFDefinitions)
  is written back where it came from. Records without a URI get one on this server
  (``{base_url}/ims/case/v1p1/CFItems/{identifier}``), without a date the framework's.
"""

from collections import defaultdict
from datetime import UTC, datetime

from competencies.interchange.case_common import CASE_API_PATH, Reading, derived_id
from competencies.interchange.case_read import licence_of
from competencies.interchange.case_schema import definitions, is_uuid
from competencies.interchange.data import (
    AssociationData,
    FrameworkData,
    ItemData,
    ItemTypeData,
)
from competencies.models import EvidenceRule, FrameworkStatus, ItemKind

KIND_TITLES = {
    ItemKind.DOMAIN: "Domain",
    ItemKind.COMPETENCY: "Competency",
    ItemKind.INDICATOR: "Indicator",
}
KIND_DESCRIPTIONS = {
    ItemKind.DOMAIN: "A group of related competencies.",
    ItemKind.COMPETENCY: "Something a learner shows they are able to do.",
    ItemKind.INDICATOR: "Observable evidence that a learner has a competency.",
}
ADOPTION_STATUS = {
    FrameworkStatus.DRAFT: "Draft",
    FrameworkStatus.PUBLISHED: "Adopted",
    FrameworkStatus.RETIRED: "Deprecated",
}
#: Stored CFDefinitions collections and the schema definition of their records.
DEFINITION_RECORDS = {
    "CFConcepts": "CFConcept",
    "CFSubjects": "CFSubject",
    "CFLicenses": "CFLicense",
    "CFAssociationGroupings": "CFAssociationGrouping",
}


def export_case_package(data: FrameworkData, *, base_url: str) -> dict:
    """A CASE 1.1 CFPackage (valid against the official schema) for ``data``."""
    writer = _Writer(data, base_url)
    package = {
        "CFDocument": writer.document(),
        "CFItems": [writer.item(item) for item in data.items],
        "CFAssociations": writer.associations(),
        "CFDefinitions": writer.definitions(),
    }
    if data.levels:
        package["CFRubrics"] = [writer.rubric()]
    return package


def timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def drop_empty(record: dict) -> dict:
    return {key: value for key, value in record.items() if value not in ("", None, [], {})}


class _Writer:
    def __init__(self, data: FrameworkData, base_url: str):
        self.data = data
        self.base = base_url.rstrip("/") + CASE_API_PATH
        self.changed = data.updated_at or datetime.now(UTC)
        self.document_id = data.identifier or derived_id("CFDocument", data.title, data.version)
        self.by_key = {item.key: item for item in data.items}
        self.item_id = {
            item.key: item.identifier or derived_id(self.document_id, "CFItem", item.key)
            for item in data.items
        }
        self.rank = self._ranks()
        self.types = self._types()
        self.licence_link, self.licences = self._licence()

    # Helpers -----------------------------------------------------------------------------

    def stamp(self, moment: datetime | None) -> str:
        return timestamp(moment or self.changed)

    def uri(self, collection: str, identifier: str, uri: str = "") -> str:
        return uri or f"{self.base}/{collection}/{identifier}"

    def document_link(self) -> dict:
        return {
            "title": self.data.title,
            "identifier": self.document_id,
            "uri": self.uri("CFDocuments", self.document_id, self.data.uri),
        }

    def node(self, key: str, *, title: str = "", uri: str = "") -> dict:
        if key in self.by_key:
            item = self.by_key[key]
            return {
                "title": item.abbreviated_statement or item.full_statement,
                "identifier": self.item_id[key],
                "uri": self.uri("CFItems", self.item_id[key], item.uri),
            }
        if key == self.document_id:
            return self.document_link()
        return {
            "title": title,
            "identifier": key,
            "uri": uri or (f"{self.base}/CFItems/{key}" if is_uuid(key) else ""),
        }

    def parent_of(self, item: ItemData) -> str | None:
        return item.parent_key if item.parent_key in self.by_key else None

    def _ranks(self) -> dict[str, int]:
        """Each item's place among its siblings, from 1, as CASE publishers number them."""
        siblings: dict[str | None, list[ItemData]] = defaultdict(list)
        for item in self.data.items:
            siblings[self.parent_of(item)].append(item)
        rank = {}
        for group in siblings.values():
            for position, item in enumerate(sorted(group, key=lambda i: i.order), start=1):
                rank[item.key] = position
        return rank

    def _types(self) -> dict[str, ItemTypeData]:
        """The imported item types, then one per kind of the items that have none."""
        types = {t.identifier: t for t in self.data.item_types}
        untyped = {item.kind for item in self.data.items if item.item_type not in types}
        kinds = [kind for kind in KIND_TITLES if kind in untyped]
        kinds += sorted(untyped - set(KIND_TITLES))
        for hierarchy, kind in enumerate(kinds, start=1):
            title = KIND_TITLES.get(kind, str(kind).capitalize())
            types[str(kind)] = ItemTypeData(
                identifier=derived_id("CFItemType", kind),
                title=title,
                description=KIND_DESCRIPTIONS.get(kind, title),
                hierarchy_code=str(hierarchy),
                type_code=str(kind),
            )
        return types

    def type_of(self, item: ItemData) -> ItemTypeData:
        return self.types.get(item.item_type or "") or self.types[str(item.kind)]

    def type_link(self, item_type: ItemTypeData) -> dict:
        return {
            "title": item_type.title,
            "identifier": item_type.identifier,
            "uri": self.uri("CFItemTypes", item_type.identifier, item_type.uri),
        }

    # The document ------------------------------------------------------------------------

    def document(self) -> dict:
        data = self.data
        adoption = data.adoption_status if data.status == FrameworkStatus.DRAFT else ""
        extensions = dict(data.extensions)
        if data.code:
            extensions["humanCodingScheme"] = data.code
        if data.evidence_rule and data.evidence_rule != EvidenceRule.ANY:
            extensions["evidenceRule"] = data.evidence_rule
        attributes = {k: v for k, v in data.case_attributes.items() if k != "licenseURI"}
        document = drop_empty(
            {
                **self.document_link(),
                "creator": data.creator,
                "lastChangeDateTime": self.stamp(data.updated_at),
                "caseVersion": "1.1",
                "version": data.version,
                "language": data.language,
                "description": data.description,
                "publisher": data.publisher,
                "officialSourceURL": data.official_source_url,
                "adoptionStatus": adoption or ADOPTION_STATUS.get(data.status, "Draft"),
                **attributes,
                "licenseURI": self.licence_link,
                "extensions": extensions,
            }
        )
        document["creator"] = data.creator  # required, even when empty
        return document

    def _licence(self) -> tuple[dict | None, list[dict]]:
        """The licence link and CFLicenses: as imported while they still say our licence."""
        data = self.data
        stored_link = data.case_attributes.get("licenseURI")
        stored = list(data.case_definitions.get("CFLicenses", []))
        wanted = (data.licence, data.licence_uri)
        if stored_link and licence_of(stored_link, stored, Reading()) == wanted:
            return stored_link, stored
        if not (data.licence or data.licence_uri):
            return None, stored
        identifier = derived_id("CFLicense", data.licence_uri or data.licence)
        link = {
            "title": data.licence or data.licence_uri,
            "identifier": identifier,
            "uri": data.licence_uri or f"{self.base}/CFLicenses/{identifier}",
        }
        record = {**link, "licenseText": data.licence_uri or data.licence}
        return link, [*(r for r in stored if r.get("identifier") != identifier), record]

    # Items -------------------------------------------------------------------------------

    def item(self, item: ItemData) -> dict:
        extensions = dict(item.extensions)
        if item.rule_type:
            extensions["ruleType"] = item.rule_type
        if item.rule_config:
            extensions["ruleConfig"] = item.rule_config
        if item.evidence_rule:
            extensions["evidenceRule"] = item.evidence_rule
        item_type = self.type_of(item)
        identifier = self.item_id[item.key]
        return drop_empty(
            {
                "identifier": identifier,
                "uri": self.uri("CFItems", identifier, item.uri),
                "fullStatement": item.full_statement,
                "CFItemType": item_type.title,
                "CFItemTypeURI": self.type_link(item_type),
                "humanCodingScheme": item.code,
                "listEnumeration": str(self.rank[item.key]),
                "abbreviatedStatement": item.abbreviated_statement,
                "notes": item.notes,
                "language": item.language,
                "lastChangeDateTime": self.stamp(item.updated_at),
                **item.case_attributes,
                "extensions": extensions,
            }
        )

    # Associations ------------------------------------------------------------------------

    def associations(self) -> list[dict]:
        records = [self.child_of(item) for item in self.data.items]
        links = set()
        for link in self.data.associations:
            records.append(self.association(link))
            links.add(
                (
                    link.association_type,
                    self.item_id.get(link.origin_key, link.origin_key),
                    self.item_id.get(link.destination_key, link.destination_key),
                )
            )
        for item in self.data.items:
            previous = item.previous_identifier
            if previous and ("replacedBy", previous, self.item_id[item.key]) not in links:
                identifier = derived_id("replacedBy", previous, self.item_id[item.key])
                records.append(
                    self.record(identifier, "replacedBy", self.node(previous), self.node(item.key))
                )
        return records

    def record(self, identifier, kind, origin, destination, **fields) -> dict:
        return drop_empty(
            {
                "identifier": identifier,
                "associationType": kind,
                "uri": self.uri("CFAssociations", identifier, fields.pop("uri", "")),
                "originNodeURI": origin,
                "destinationNodeURI": destination,
                "sequenceNumber": fields.pop("sequence_number", None),
                "notes": fields.pop("notes", ""),
                "lastChangeDateTime": self.stamp(fields.pop("updated_at", None)),
                **fields.pop("case_attributes", {}),
                "extensions": fields.pop("extensions", {}),
            }
        )

    def child_of(self, item: ItemData) -> dict:
        parent = self.parent_of(item)
        destination = self.node(parent) if parent is not None else self.document_link()
        kept = item.parent_association
        if kept is None:
            identifier = derived_id("isChildOf", self.item_id[item.key], destination["identifier"])
            fields = {"updated_at": item.updated_at}
        else:
            identifier = kept.identifier
            fields = {
                "uri": kept.uri,
                "updated_at": kept.updated_at,
                "case_attributes": kept.case_attributes,
                "extensions": kept.extensions,
            }
        return self.record(
            identifier,
            "isChildOf",
            self.node(item.key),
            destination,
            sequence_number=self.rank[item.key],
            **fields,
        )

    def association(self, link: AssociationData) -> dict:
        origin_id = self.item_id.get(link.origin_key, link.origin_key)
        destination_id = self.item_id.get(link.destination_key, link.destination_key)
        return self.record(
            link.identifier or derived_id(link.association_type, origin_id, destination_id),
            link.association_type,
            self.node(link.origin_key),
            self.node(link.destination_key, title=link.destination_title, uri=link.destination_uri),
            uri=link.uri,
            sequence_number=link.sequence_number,
            notes=link.notes,
            updated_at=link.updated_at,
            case_attributes=link.case_attributes,
            extensions=link.extensions,
        )

    # Definitions and the scale -----------------------------------------------------------

    def definitions(self) -> dict:
        used = {self.type_of(item).identifier for item in self.data.items}
        stored = {t.identifier for t in self.data.item_types}
        item_types = [
            self.item_type(t)
            for t in self.types.values()
            if t.identifier in used or t.identifier in stored
        ]
        result: dict = {"CFItemTypes": item_types}
        for collection, records in self.data.case_definitions.items():
            if collection in DEFINITION_RECORDS and collection != "CFLicenses":
                result[collection] = [self.complete(r, collection) for r in records]
            elif collection == "extensions":
                result["extensions"] = records
        if self.licences:
            result["CFLicenses"] = [self.complete(r, "CFLicenses") for r in self.licences]
        return drop_empty(result)

    def item_type(self, item_type: ItemTypeData) -> dict:
        record = {
            **self.type_link(item_type),
            "description": item_type.description,
            "hierarchyCode": item_type.hierarchy_code,
            "typeCode": item_type.type_code,
            "lastChangeDateTime": self.stamp(item_type.updated_at),
            "extensions": item_type.extensions,
        }
        # description and hierarchyCode are required, even when there is nothing to say.
        return {k: v for k, v in record.items() if v or k in ("description", "hierarchyCode")}

    def complete(self, record: dict, collection: str) -> dict:
        """A stored definition with what the schema requires and an import did without."""
        record = dict(record)
        for name in definitions()[DEFINITION_RECORDS[collection]]["required"]:
            if name == "uri":
                record.setdefault("uri", self.uri(collection, str(record.get("identifier"))))
            elif name == "lastChangeDateTime":
                record.setdefault(name, self.stamp(None))
            else:
                record.setdefault(name, "")
        return record

    def rubric(self) -> dict:
        rubric_id = derived_id(self.document_id, "CFRubric")
        criterion_id = derived_id(self.document_id, "CFRubricCriterion")
        changed = self.stamp(self.data.updated_at)
        levels, proficient = [], False
        for position, level in enumerate(self.data.levels, start=1):
            identifier = level.identifier or derived_id(self.document_id, "level", level.name)
            proficient = proficient or level.is_proficient
            extension = {"proficient": proficient}
            if level.code:
                extension["code"] = level.code
            levels.append(
                drop_empty(
                    {
                        "identifier": identifier,
                        "uri": f"{self.base}/CFRubricCriterionLevels/{identifier}",
                        "quality": level.name,
                        "description": level.description,
                        "score": position,
                        "position": position,
                        "rubricCriterionId": criterion_id,
                        "lastChangeDateTime": changed,
                        "extensions": [extension],
                    }
                )
            )
        return {
            "identifier": rubric_id,
            "uri": f"{self.base}/CFRubrics/{rubric_id}",
            "title": f"{self.data.title}: proficiency scale",
            "description": "The levels of proficiency, lowest first. A level marked "
            '"proficient" in its extensions is one at which a learner counts as competent.',
            "lastChangeDateTime": changed,
            "CFRubricCriteria": [
                {
                    "identifier": criterion_id,
                    "uri": f"{self.base}/CFRubricCriteria/{criterion_id}",
                    "category": "Proficiency",
                    "position": 1,
                    "rubricId": rubric_id,
                    "lastChangeDateTime": changed,
                    "CFRubricCriterionLevels": levels,
                }
            ],
        }
