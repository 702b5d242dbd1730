"""Framework files in the shapes real systems write, with content of our own.

* :func:`opensalt_export` — a package as OpenSALT exports it (its documented sample export's
  shape): CASE 1.0-era fields (``CFPackageURI``, ``CFDocumentURI`` and ``CFItemAssociationURI``
  as plain URIs), ``educationalLevel`` as text, ``sequenceNumber`` as text, ``null``
  descriptions of item types, a date-time without a zone, publisher item types ("Cluster",
  "Standard", "Component"), a tool's own fields, and 39 associations of mixed types (most
  ``isChildOf`` without a sequence number, crosswalks to items elsewhere, exemplars).
* :func:`opensalt_test_package` — the shape of OpenSALT's ``Ordering.json`` test file:
  ``CFPackageURI`` and ``CFDocumentURI`` as links, no item types, no sequence numbers.
* ``MOODLE_*`` files (``tests/competencies/files/``): Moodle's CSV with an older version's
  header, the same in French, and an export as today's Moodle writes it.
"""

import uuid
from pathlib import Path

FILES = Path(__file__).parent / "files"
SERVER = "https://salt.example.org/uri/"


def sid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://salt.example.org/{name}"))


DOCUMENT = sid("document")
TYPES = {
    "Cluster": sid("type-cluster"),
    "Standard": sid("type-standard"),
    "Component": sid("type-component"),
}

#: (key, parent key or None, type, code, list enumeration, statement, educational level)
TREE = [
    ("A", None, "Cluster", "SSW.A", "", "Engage children and families with respect.", "PP"),
    ("A1", "A", "Standard", "SSW.A.1", "1.", "Introduce the service and its limits.", "PP"),
    ("A1a", "A1", "Component", "SSW.A.1a", "a.", "Say who you are and whom you work for.", "PP"),
    ("A1b", "A1", "Component", "SSW.A.1b", "b.", "Explain what stays confidential.", "PP"),
    ("A2", "A", "Standard", "SSW.A.2", "2.", "Listen to the child's own account.", "PP,VOL"),
    ("A2a", "A2", "Component", "SSW.A.2a", "a.", "Speak with the child alone when safe.", "PP"),
    ("A3", "A", "Standard", "SSW.A.3", "3.", "Agree on how to keep in touch.", "VOL"),
    ("B", None, "Cluster", "SSW.B", "", "Assess risk and strengths.", "PP"),
    ("B1", "B", "Standard", "SSW.B.1", "1.", "Recognise signs of abuse and neglect.", "PP"),
    ("B1a", "B1", "Component", "SSW.B.1a", "a.", "Name physical signs of harm.", "PP"),
    ("B1b", "B1", "Component", "SSW.B.1b", "b.", "Name signs of emotional harm.", "PP"),
    ("B2", "B", "Standard", "SSW.B.2", "2.", "Map the family's supports.", "PP"),
    ("C", None, "Cluster", "SSW.C", "", "Refer and follow up.", "PP"),
    ("C1", "C", "Standard", "SSW.C.1", "1.", "Refer with the family's consent.", "PP"),
    ("C2", "C", "Standard", "SSW.C.2", "2.", "Follow up within two weeks.", "VOL"),
    ("C2a", "C2", "Component", "SSW.C.2a", "a.", "Record the outcome of the referral.", "PP"),
]


def _uri(identifier: str) -> str:
    return SERVER + identifier


def _item(key, parent, kind, code, enumeration, statement, level) -> dict:
    identifier = sid(f"item-{key}")
    record = {
        "CFDocumentURI": _uri(DOCUMENT),
        "identifier": identifier,
        "uri": _uri(identifier),
        "fullStatement": statement,
        "humanCodingScheme": code,
        "listEnumeration": enumeration or None,
        "notes": f"Taught in module {key[0]}." if len(key) == 2 else None,
        "language": "en",
        "educationalLevel": level,
        "CFItemType": kind,
        "CFItemTypeURI": {"title": kind, "identifier": TYPES[kind], "uri": _uri(TYPES[kind])},
        "lastChangeDateTime": "2023-05-25T18:05:29",
        "CFItemAssociationURI": _uri(identifier) + "/associations",
    }
    if key == "B1a":
        record["x-salt-editor"] = {"reviewed": True, "by": "curriculum team"}  # a tool's own
    return {k: v for k, v in record.items() if v is not None}


def _association(name, kind, origin, destination, *, sequence=None, when="2023-05-25T18:05:33"):
    identifier = sid(f"association-{name}")
    record = {
        "CFDocumentURI": _uri(DOCUMENT),
        "identifier": identifier,
        "uri": _uri(identifier),
        "originNodeURI": origin,
        "associationType": kind,
        "destinationNodeURI": destination,
        "lastChangeDateTime": when,
    }
    if sequence is not None:
        record["sequenceNumber"] = sequence
    return record


def _link(key: str, title: str = "Origin") -> dict:
    identifier = DOCUMENT if key == "document" else sid(f"item-{key}")
    return {"title": title, "identifier": identifier, "uri": _uri(identifier)}


def _elsewhere(name: str, title: str = "Destination", uri: str = "") -> dict:
    identifier = str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://other.example.org/{name}"))
    return {"title": title, "identifier": identifier, "uri": uri or _uri(identifier)}


def opensalt_associations() -> list[dict]:
    """16 isChildOf, 9 exactMatchOf elsewhere, 4 exemplars, 4 isRelatedTo, 3 precedes,
    2 isPeerOf and 1 isPartOf: 39."""
    records = []
    for index, (key, parent, *_rest) in enumerate(TREE):
        # OpenSALT gives a sequenceNumber, as text, to few of them.
        sequence = "1" if key == "A" else ("2" if key == "A2" else None)
        destination = _link(parent or "document", parent or "What social service workers do")
        records.append(
            _association(f"child-{index}", "isChildOf", _link(key), destination, sequence=sequence)
        )
    for index, key in enumerate(["A1", "A1a", "A2", "A3", "B1", "B1b", "B2", "C1", "C2a"]):
        records.append(
            _association(f"match-{index}", "exactMatchOf", _link(key), _elsewhere(f"std-{index}"))
        )
    for index, key in enumerate(["A1", "A2a", "B2", "C2"]):
        video = _elsewhere(f"video-{index}", uri=f"https://videos.example.org/{index}")
        records.append(
            _association(
                f"exemplar-{index}", "exemplar", _link(key), video, when="2023-06-06T20:31:48"
            )
        )
    for index, key in enumerate(["A", "B", "B1a", "C1"]):
        records.append(
            _association(f"related-{index}", "isRelatedTo", _link(key), _elsewhere(f"rel-{index}"))
        )
    for index, (first, then) in enumerate([("A1", "A2"), ("A2", "A3"), ("B1", "B2")]):
        records.append(
            _association(f"precedes-{index}", "precedes", _link(first), _link(then, "Destination"))
        )
    for index, (one, other) in enumerate([("A1a", "A1b"), ("B1a", "B1b")]):
        records.append(
            _association(f"peer-{index}", "isPeerOf", _link(one), _link(other, "Destination"))
        )
    records.append(_association("part-0", "isPartOf", _link("C2a"), _link("C1", "Destination")))
    return records


def opensalt_export() -> dict:
    """A package shaped as OpenSALT's documented sample export."""
    return {
        "CFDocument": {
            "identifier": DOCUMENT,
            "uri": _uri(DOCUMENT),
            "creator": "Council for Social Service Professions",
            "title": "What social service workers do",
            "adoptionStatus": "Adopted",
            "lastChangeDateTime": "2023-05-25T18:05:33",
            "language": "en",
            "notes": "Agreed by the council in May 2023.",
            "CFPackageURI": _uri(DOCUMENT),
        },
        "CFItems": [_item(*row) for row in TREE],
        "CFAssociations": opensalt_associations(),
        "CFDefinitions": {
            "CFItemTypes": [
                {
                    "identifier": identifier,
                    "uri": _uri(identifier),
                    "title": title,
                    "description": None,
                    "hierarchyCode": "1",
                    "typeCode": title,
                    "lastChangeDateTime": "2023-02-14T20:34:39",
                }
                for title, identifier in TYPES.items()
            ]
        },
    }


def opensalt_test_package(items: int = 28) -> dict:
    """A package shaped as OpenSALT's Ordering.json: 1.0 links, no item types or sequence."""
    base = "http://localhost:3000/ims/case/v1p0/"
    document = sid("ordering")
    document_link = {
        "title": "Shapes",
        "identifier": document,
        "uri": f"{base}CFDocuments/{document}",
    }
    keys = [sid(f"ordering-{n}") for n in range(items)]
    when = "2017-10-18T15:02:46+00:00"
    records = [
        {
            "uri": f"{base}CFItems/{key}",
            "identifier": key,
            "lastChangeDateTime": when,
            "CFDocumentURI": document_link,
            "humanCodingScheme": f"SH.{n}" if n else "SH",
            "fullStatement": f"Shapes statement {n}",
            **({"abbreviatedStatement": "Shapes"} if n == 0 else {}),
        }
        for n, key in enumerate(keys)
    ]
    associations = [
        {
            "uri": f"{base}CFAssociations/{sid(f'ordering-link-{n}')}",
            "identifier": sid(f"ordering-link-{n}"),
            "lastChangeDateTime": "2017-10-18T15:07:29+00:00",
            "CFDocumentURI": document_link,
            "originNodeURI": {"title": f"SH.{n}", "identifier": key, "uri": f"{base}CFItems/{key}"},
            "associationType": "isChildOf",
            "destinationNodeURI": document_link
            if n == 0
            else {"title": "SH", "identifier": keys[0], "uri": f"{base}CFItems/{keys[0]}"},
        }
        for n, key in enumerate(keys)
    ]
    return {
        "CFDocument": {
            "uri": document_link["uri"],
            "identifier": document,
            "lastChangeDateTime": when,
            "CFPackageURI": {**document_link, "uri": f"{base}CFPackages/{document}"},
            "creator": "A test publisher",
            "title": "Shapes",
            "description": "",
        },
        "CFItems": records,
        "CFAssociations": associations,
        "CFDefinitions": {
            "CFConcepts": [],
            "CFSubjects": [],
            "CFLicenses": [],
            "CFItemTypes": [],
            "CFAssociationGroupings": [],
        },
    }
