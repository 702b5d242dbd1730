"""xAPI 1.0.3 statements from other LMSs: validation, storage, and mapping to progress.

A services module beside :mod:`courses.ingest` (same conventions): every statement is stored
for the institution of the API key that sent it, and is seen by that institution only. A
statement whose object is an activity mapped to one of the institution's live modules (the
module's ``xapi_activity_iri``) with one of :data:`PROGRESS_VERBS` becomes a progress event
through :func:`courses.services.progress_event_record`, in the same transaction as the
statement is stored; its event id is the statement id, so a re-sent statement applies once.

Statements stored before their learner, enrolment or module mapping existed are applied later
by :func:`statements_replay` (when the institution enrols the learner, and by
``manage.py xapi_replay``). Attachment content sent as ``multipart/mixed`` is stored once per
institution and SHA-2 hash (:class:`courses.models.XapiAttachment`); the agents and activities
a statement is about are extracted when it is stored (:class:`courses.models.XapiStatementKey`)
so that the ``agent`` / ``activity`` filters, ``related_agents`` and ``related_activities``
are index look-ups.

See docs/decisions/0005-xapi.md for what happens to unknown learners and to voided statements.
"""

import hashlib
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from courses import selectors
from courses.models import (
    ProgressSource,
    ProgressVerb,
    XapiAttachment,
    XapiKeyKind,
    XapiProgressStatus,
    XapiStatement,
    XapiStatementKey,
)
from courses.services import (
    LearningError,
    ProgressWriteClash,
    progress_event_record,
    progress_event_record_or_clash,
)
from courses.xapi_errors import XapiError
from courses.xapi_signatures import is_signature, signature_check
from lms import json_input
from lms import selectors as lms_selectors
from lms.models import ApiKey, Institution

XAPI_VERSION = "1.0.3"
VERSION_PATTERN = re.compile(r"^1\.0(\.\d+)?$")
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
ADL = "http://adlnet.gov/expapi/verbs/"
#: xAPI verbs that become progress events, with the progress verb each becomes.
PROGRESS_VERBS = {
    ADL + "completed": ProgressVerb.COMPLETED,
    ADL + "passed": ProgressVerb.PASSED,
    ADL + "failed": ProgressVerb.FAILED,
    ADL + "scored": ProgressVerb.ATTEMPTED,
}

STATEMENT_KEYS = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}
SUBSTATEMENT_KEYS = {"objectType", "actor", "verb", "object", "result", "context", "timestamp"}
AGENT_KEYS = {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"}
GROUP_KEYS = AGENT_KEYS | {"member"}
IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
VERB_KEYS = {"id", "display"}
ACTIVITY_KEYS = {"objectType", "id", "definition"}
DEFINITION_KEYS = {
    "name",
    "description",
    "type",
    "moreInfo",
    "extensions",
    "interactionType",
    "correctResponsesPattern",
    "choices",
    "scale",
    "source",
    "target",
    "steps",
}
RESULT_KEYS = {"score", "success", "completion", "response", "duration", "extensions"}
SCORE_KEYS = {"scaled", "raw", "min", "max"}
CONTEXT_KEYS = {
    "registration",
    "instructor",
    "team",
    "contextActivities",
    "revision",
    "platform",
    "language",
    "statement",
    "extensions",
}
CONTEXT_ACTIVITY_KEYS = {"parent", "grouping", "category", "other"}
ATTACHMENT_KEYS = {
    "usageType",
    "display",
    "description",
    "contentType",
    "length",
    "sha2",
    "fileUrl",
}
#: Interaction components of an activity definition, each a list of {id, description}.
INTERACTION_COMPONENT_KEYS = ("choices", "scale", "source", "target", "steps")
#: The SHA-2 functions an attachment's hash may come from, by the length of its hex digest.
SHA2_BY_LENGTH = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}
#: Largest request body /xapi/statements reads (statements and attachment content), in bytes.
DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024

IRI_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
# type/subtype, then parameters (no line breaks: it is repeated in a multipart header).
MEDIA_TYPE_PATTERN = re.compile(r"^[\w!#$&^.+-]+/[\w!#$&^.+-]+(\s*;[^\r\n]*)?$")
SHA1_PATTERN = re.compile(r"^[0-9a-fA-F]{40}$")
MBOX_PATTERN = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
# ISO 8601 durations as xAPI allows them (PnYnMnDTnHnMnS, or PnW).
DURATION_PATTERN = re.compile(
    r"^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$|^P\d+W$"
)
# A date and time with an offset (or Z): xAPI requires ISO 8601; we require the time zone.
TIMESTAMP_PATTERN = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)$"
)


def _fail(message: str, status: int = 400):
    raise XapiError(message, status=status)


def json_parse(raw: bytes | str, what: str) -> Any:
    """JSON a client sent, refused with :class:`XapiError` naming where the problem is when
    it is not JSON, nests too deeply or holds a NUL character (see :mod:`lms.json_input`):
    the statement's JSON is stored, and PostgreSQL takes no NUL."""
    try:
        return json_input.loads(raw)
    except json_input.JsonInputError as error:
        where = f"{what}, at {json_input.path_text(error.loc)}," if error.loc else what
        raise XapiError(f"{where} {error.msg}") from None


# --- Validation -------------------------------------------------------------------------------


def version_check(value: str | None) -> None:
    if not value:
        _fail("X-Experience-API-Version header is required (1.0.x).")
    if not VERSION_PATTERN.match(value.strip()):
        _fail(f"X-Experience-API-Version '{value}' is not supported: use 1.0.x.")


def parse_uuid(value: Any, field: str) -> uuid.UUID:
    if not isinstance(value, str):
        _fail(f"{field}: must be a UUID string.")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        _fail(f"{field}: '{value}' is not a valid UUID.")
    # xAPI requires the canonical hyphenated form (RFC 4122 variant).
    if str(parsed) != value.lower():
        _fail(f"{field}: '{value}' is not a UUID in its canonical form.")
    return parsed


def parse_timestamp(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not TIMESTAMP_PATTERN.match(value):
        _fail(f"{field}: '{value}' is not an ISO 8601 timestamp with a time zone.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"{field}: '{value}' is not a valid ISO 8601 timestamp.")
    if parsed.tzinfo is None:  # pragma: no cover - the pattern requires an offset
        _fail(f"{field}: '{value}' has no time zone.")
    return parsed


def _object(value: Any, field: str) -> dict:
    if not isinstance(value, dict):
        _fail(f"{field}: must be a JSON object.")
    return value


def _only(value: dict, allowed: set, field: str) -> None:
    extra = set(value) - allowed
    if extra:
        _fail(f"{field}: unexpected properties {', '.join(sorted(extra))}.")


def iri_check(value: Any, field: str) -> str:
    if not isinstance(value, str) or not IRI_PATTERN.match(value):
        _fail(f"{field}: '{value}' is not an IRI.")
    return value


def _language_map(value: Any, field: str) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        _fail(f"{field}: must be a language map (language tag → string).")


def _extensions(value: Any, field: str) -> None:
    for key in _object(value, field):
        iri_check(key, f"{field} key")


def ifi_key(agent: dict, field: str) -> str | None:
    """The agent's single inverse functional identifier as a string, or None if it has none.

    Raises :class:`XapiError` for two or more identifiers or a malformed one.
    """
    present = [key for key in IFI_KEYS if key in agent]
    if len(present) > 1:
        _fail(f"{field}: has {len(present)} inverse functional identifiers; exactly one allowed.")
    if not present:
        return None
    key = present[0]
    value = agent[key]
    if key == "mbox":
        if not isinstance(value, str) or not MBOX_PATTERN.match(value):
            _fail(f"{field}.mbox: must be a 'mailto:' IRI.")
        return f"mbox:{value.lower()}"
    if key == "mbox_sha1sum":
        if not isinstance(value, str) or not SHA1_PATTERN.match(value):
            _fail(f"{field}.mbox_sha1sum: must be a SHA-1 hex digest.")
        return f"mbox_sha1sum:{value.lower()}"
    if key == "openid":
        return f"openid:{iri_check(value, f'{field}.openid')}"
    account = _object(value, f"{field}.account")
    _only(account, {"homePage", "name"}, f"{field}.account")
    home = iri_check(account.get("homePage"), f"{field}.account.homePage")
    name = account.get("name")
    if not isinstance(name, str) or not name:
        _fail(f"{field}.account.name: required string.")
    return f"account:{home}|{name}"


def validate_agent(value: Any, field: str) -> str | None:
    """Validate an Agent or Group; return its IFI key (None for an anonymous group)."""
    agent = _object(value, field)
    object_type = agent.get("objectType", "Agent")
    if object_type == "Agent":
        _only(agent, AGENT_KEYS, field)
        key = ifi_key(agent, field)
        if key is None:
            _fail(f"{field}: an Agent needs exactly one inverse functional identifier.")
    elif object_type == "Group":
        _only(agent, GROUP_KEYS, field)
        key = ifi_key(agent, field)
        members = agent.get("member")
        if key is None and not members:
            _fail(f"{field}: an anonymous Group needs a member list.")
        if members is not None:
            if not isinstance(members, list):
                _fail(f"{field}.member: must be a list.")
            for index, member in enumerate(members):
                if _object(member, f"{field}.member[{index}]").get("objectType") == "Group":
                    _fail(f"{field}.member[{index}]: a Group cannot hold a Group.")
                validate_agent(member, f"{field}.member[{index}]")
    else:
        _fail(f"{field}.objectType: must be Agent or Group, not '{object_type}'.")
    if "name" in agent and not isinstance(agent["name"], str):
        _fail(f"{field}.name: must be a string.")
    return key


def _validate_verb(value: Any, field: str) -> str:
    verb = _object(value, field)
    _only(verb, VERB_KEYS, field)
    verb_id = iri_check(verb.get("id"), f"{field}.id")
    if "display" in verb:
        _language_map(verb["display"], f"{field}.display")
    return verb_id


def _validate_activity(activity: dict, field: str) -> str:
    _only(activity, ACTIVITY_KEYS, field)
    activity_id = iri_check(activity.get("id"), f"{field}.id")
    if "definition" in activity:
        definition = _object(activity["definition"], f"{field}.definition")
        _only(definition, DEFINITION_KEYS, f"{field}.definition")
        for key in ("name", "description"):
            if key in definition:
                _language_map(definition[key], f"{field}.definition.{key}")
        for key in ("type", "moreInfo"):
            if key in definition:
                iri_check(definition[key], f"{field}.definition.{key}")
        if "extensions" in definition:
            _extensions(definition["extensions"], f"{field}.definition.extensions")
    return activity_id


@dataclass(frozen=True)
class ObjectInfo:
    activity_iri: str = ""
    statement_ref: uuid.UUID | None = None


def _validate_object(value: Any, field: str, *, sub: bool = False) -> ObjectInfo:
    if value is None:
        _fail(f"{field}: required.")
    target = _object(value, field)
    object_type = target.get("objectType", "Activity")
    if object_type == "Activity":
        return ObjectInfo(activity_iri=_validate_activity(target, field))
    if object_type in ("Agent", "Group"):
        validate_agent(target, field)
        return ObjectInfo()
    if object_type == "StatementRef":
        _only(target, {"objectType", "id"}, field)
        return ObjectInfo(statement_ref=parse_uuid(target.get("id"), f"{field}.id"))
    if object_type == "SubStatement":
        if sub:
            _fail(f"{field}: a SubStatement cannot hold a SubStatement.")
        _only(target, SUBSTATEMENT_KEYS, field)
        _validate_core(target, field, sub=True)
        return ObjectInfo()
    _fail(f"{field}.objectType: unknown object type '{object_type}'.")


def _validate_score(value: Any, field: str) -> None:
    score = _object(value, field)
    _only(score, SCORE_KEYS, field)
    for key in SCORE_KEYS & set(score):
        if isinstance(score[key], bool) or not isinstance(score[key], int | float):
            _fail(f"{field}.{key}: must be a number.")
    if "scaled" in score and not -1 <= score["scaled"] <= 1:
        _fail(f"{field}.scaled: must be between -1 and 1, not {score['scaled']}.")
    low, high, raw = score.get("min"), score.get("max"), score.get("raw")
    if low is not None and high is not None and low >= high:
        _fail(f"{field}.min: must be less than max.")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        _fail(f"{field}.raw: must be between min and max.")


def _validate_result(value: Any, field: str) -> None:
    result = _object(value, field)
    _only(result, RESULT_KEYS, field)
    if "score" in result:
        _validate_score(result["score"], f"{field}.score")
    for key in ("success", "completion"):
        if key in result and not isinstance(result[key], bool):
            _fail(f"{field}.{key}: must be true or false.")
    if "response" in result and not isinstance(result["response"], str):
        _fail(f"{field}.response: must be a string.")
    if "duration" in result and (
        not isinstance(result["duration"], str) or not DURATION_PATTERN.match(result["duration"])
    ):
        _fail(f"{field}.duration: '{result['duration']}' is not an ISO 8601 duration.")
    if "extensions" in result:
        _extensions(result["extensions"], f"{field}.extensions")


def _validate_context(value: Any, field: str, object_info: ObjectInfo, obj: dict) -> None:
    context = _object(value, field)
    _only(context, CONTEXT_KEYS, field)
    if "registration" in context:
        parse_uuid(context["registration"], f"{field}.registration")
    if "instructor" in context:
        validate_agent(context["instructor"], f"{field}.instructor")
    if "team" in context:
        if _object(context["team"], f"{field}.team").get("objectType") != "Group":
            _fail(f"{field}.team: must be a Group.")
        validate_agent(context["team"], f"{field}.team")
    if "contextActivities" in context:
        activities = _object(context["contextActivities"], f"{field}.contextActivities")
        _only(activities, CONTEXT_ACTIVITY_KEYS, f"{field}.contextActivities")
        for kind, items in activities.items():
            for index, item in enumerate(items if isinstance(items, list) else [items]):
                where = f"{field}.contextActivities.{kind}[{index}]"
                if _object(item, where).get("objectType", "Activity") != "Activity":
                    _fail(f"{where}: must be an Activity.")
                _validate_activity(item, where)
    is_activity = obj.get("objectType", "Activity") == "Activity"
    for key in ("revision", "platform"):
        if key in context:
            if not is_activity:
                _fail(f"{field}.{key}: allowed only when the object is an Activity.")
            if not isinstance(context[key], str):
                _fail(f"{field}.{key}: must be a string.")
    if "language" in context and not isinstance(context["language"], str):
        _fail(f"{field}.language: must be a language tag.")
    if "statement" in context:
        ref = _object(context["statement"], f"{field}.statement")
        if ref.get("objectType") != "StatementRef":
            _fail(f"{field}.statement: must be a StatementRef.")
        parse_uuid(ref.get("id"), f"{field}.statement.id")
    if "extensions" in context:
        _extensions(context["extensions"], f"{field}.extensions")


@dataclass(frozen=True)
class CoreInfo:
    actor_ifi: str
    verb_iri: str
    object_info: ObjectInfo


def _validate_core(statement: dict, field: str, *, sub: bool = False) -> CoreInfo:
    prefix = f"{field}." if field else ""
    if "actor" not in statement:
        _fail(f"{prefix}actor: required.")
    actor_ifi = validate_agent(statement["actor"], f"{prefix}actor") or ""
    if "verb" not in statement:
        _fail(f"{prefix}verb: required.")
    verb_iri = _validate_verb(statement["verb"], f"{prefix}verb")
    if "object" not in statement:
        _fail(f"{prefix}object: required.")
    object_info = _validate_object(statement["object"], f"{prefix}object", sub=sub)
    if "result" in statement:
        _validate_result(statement["result"], f"{prefix}result")
    if "context" in statement:
        _validate_context(
            statement["context"], f"{prefix}context", object_info, statement["object"]
        )
    if "timestamp" in statement:
        parse_timestamp(statement["timestamp"], f"{prefix}timestamp")
    return CoreInfo(actor_ifi, verb_iri, object_info)


def _validate_attachments(value: Any, field: str) -> None:
    if not isinstance(value, list):
        _fail(f"{field}: must be a list.")
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        attachment = _object(item, where)
        _only(attachment, ATTACHMENT_KEYS, where)
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in attachment:
                _fail(f"{where}.{key}: required.")
        iri_check(attachment["usageType"], f"{where}.usageType")
        _language_map(attachment["display"], f"{where}.display")
        if "description" in attachment:
            _language_map(attachment["description"], f"{where}.description")
        content_type = attachment["contentType"]
        if not isinstance(content_type, str) or not MEDIA_TYPE_PATTERN.fullmatch(content_type):
            _fail(f"{where}.contentType: must be an Internet media type such as 'application/pdf'.")
        length = attachment["length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            _fail(f"{where}.length: must be the content's length in octets (a whole number).")
        if not isinstance(attachment["sha2"], str) or not attachment["sha2"]:
            _fail(f"{where}.sha2: must be the SHA-2 hash of the content, in hexadecimal.")
        if "fileUrl" in attachment:
            iri_check(attachment["fileUrl"], f"{where}.fileUrl")


@dataclass(frozen=True)
class ValidStatement:
    id: uuid.UUID
    raw: dict  # as received, with the id the LRS assigned when it had none
    actor_ifi: str
    verb_iri: str
    activity_iri: str
    voids: uuid.UUID | None
    timestamp: datetime | None


def statement_validate(value: Any, *, statement_id: uuid.UUID | None = None) -> ValidStatement:
    """Check one statement against xAPI 1.0.3; raise :class:`XapiError` naming the field."""
    statement = _object(value, "statement")
    _only(statement, STATEMENT_KEYS, "statement")
    raw = dict(statement)
    if "id" in statement:
        given = parse_uuid(statement["id"], "id")
        if statement_id is not None and given != statement_id:
            _fail("id: differs from the statementId parameter.")
        statement_id = given
    statement_id = statement_id or uuid.uuid4()
    raw["id"] = str(statement_id)
    core = _validate_core(statement, "")
    if "version" in statement and (
        not isinstance(statement["version"], str) or not VERSION_PATTERN.match(statement["version"])
    ):
        _fail(f"version: '{statement['version']}' is not 1.0.x.")
    if "authority" in statement:
        validate_agent(statement["authority"], "authority")
    if "attachments" in statement:
        _validate_attachments(statement["attachments"], "attachments")
    voids = None
    if core.verb_iri == VOIDED:
        if core.object_info.statement_ref is None:
            _fail("object: a voiding statement's object must be a StatementRef.")
        voids = core.object_info.statement_ref
    timestamp = (
        parse_timestamp(statement["timestamp"], "timestamp") if "timestamp" in statement else None
    )
    return ValidStatement(
        id=statement_id,
        raw=raw,
        actor_ifi=core.actor_ifi,
        verb_iri=core.verb_iri,
        activity_iri=core.object_info.activity_iri,
        voids=voids,
        timestamp=timestamp,
    )


# --- Storage ----------------------------------------------------------------------------------

#: Properties the LRS sets, left out when two statements with the same id are compared.
LRS_SET = ("stored", "authority", "version")


def _same_statement(a: dict, b: dict) -> bool:
    def comparable(statement: dict) -> dict:
        return {k: v for k, v in statement.items() if k not in LRS_SET}

    return comparable(a) == comparable(b)


def authority_of(api_key: ApiKey) -> dict:
    return {
        "objectType": "Agent",
        "name": api_key.name,
        "account": {"homePage": "urn:ssw:api-key", "name": api_key.prefix},
    }


@dataclass(frozen=True)
class StoredOutcome:
    statement: XapiStatement
    created: bool  # False: the same statement had been stored already


@dataclass(frozen=True)
class AttachmentPart:
    """The content of one attachment, from a part of a ``multipart/mixed`` request."""

    sha2: str  # lower-case hex, checked against the content
    content: bytes
    content_type: str = ""


def max_body_bytes() -> int:
    """The largest statements request read, from ``XAPI_MAX_BODY_BYTES`` (default 10 MiB)."""
    return int(getattr(settings, "XAPI_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES))


def attachment_part(
    *, content: bytes, declared_hash: str | None, content_type: str = ""
) -> AttachmentPart:
    """An attachment part whose X-Experience-API-Hash is checked against its content."""
    if not declared_hash:
        _fail("An attachment part has no X-Experience-API-Hash header.")
    declared = declared_hash.strip().lower()
    function = SHA2_BY_LENGTH.get(len(declared))
    if function is None or not re.fullmatch(r"[0-9a-f]+", declared):
        _fail(f"X-Experience-API-Hash '{declared_hash}' is not a hexadecimal SHA-2 hash.")
    actual = function(content).hexdigest()
    if actual != declared:
        _fail(
            f"X-Experience-API-Hash {declared} does not match the part's content "
            f"(its {function().name.upper()} is {actual})."
        )
    return AttachmentPart(sha2=declared, content=content, content_type=content_type)


def statements_store(
    *,
    api_key: ApiKey,
    statements: list[ValidStatement],
    parts: dict[str, AttachmentPart] | None = None,
) -> list[StoredOutcome]:
    """Store validated statements for the key's institution, all or none, with their progress.

    An id stored before with the same content is a no-op; with other content it is refused
    (409) and nothing of the request is stored. Two statements with one id in one request: 400.
    ``parts`` is the attachment content sent with them (by hash): every attachment without a
    ``fileUrl`` needs its part, and every part an attachment (else 400, nothing stored). The
    content is stored for the statements stored now, not for no-op duplicates.
    """
    ids = [statement.id for statement in statements]
    if len(set(ids)) != len(ids):
        _fail("id: the same statement id appears twice in this request.")
    parts = parts or {}
    _attachments_check(statements, parts)
    try:
        # First with the progress written in the request's transaction alone: nothing of it
        # is kept unless all of it is.
        return _statements_store_once(
            api_key=api_key, statements=statements, parts=parts, first_try=True
        )
    except (IntegrityError, ProgressWriteClash):
        # A parallel request stored one of these ids, or wrote some of their progress, a
        # moment ago: all of this request was rolled back. Stored again, a statement is
        # compared with what the other request stored, and each statement's progress is
        # written in a savepoint of its own, where a clash is tried again or refused alone.
        return _statements_store_once(
            api_key=api_key, statements=statements, parts=parts, first_try=False
        )


@transaction.atomic
def _statements_store_once(
    *, api_key: ApiKey, statements, parts, first_try: bool
) -> list[StoredOutcome]:
    institution = api_key.institution
    outcomes = [
        _statement_store(api_key=api_key, institution=institution, s=statement, first_try=first_try)
        for statement in statements
    ]
    if parts:
        _attachments_store(institution=institution, outcomes=outcomes, parts=parts)
    return outcomes


def _attachments_check(statements: list[ValidStatement], parts: dict[str, AttachmentPart]):
    """Every attachment without a fileUrl has its part, every part an attachment (xAPI 1.5.2),
    and every signature attachment is a well-formed signature of its statement (2.6)."""
    matched = set()
    for index, statement in enumerate(statements):
        where = f"statement {index}: " if len(statements) > 1 else ""
        for position, attachment in enumerate(statement.raw.get("attachments") or ()):
            sha2 = attachment["sha2"].lower()
            part = parts.get(sha2)
            if is_signature(attachment):
                signature_check(
                    statement=statement.raw,
                    attachment=attachment,
                    content=part.content if part is not None else None,
                    where=f"{where}attachments[{position}]",
                )
            if part is None:
                if "fileUrl" not in attachment:
                    _fail(
                        f"{where}attachments[{position}]: has no fileUrl, and no part of a "
                        f"multipart/mixed request with X-Experience-API-Hash {sha2} carries "
                        "its content."
                    )
                continue
            if attachment["length"] != len(part.content):
                _fail(
                    f"{where}attachments[{position}].length: is {attachment['length']}, but "
                    f"its part has {len(part.content)} octets."
                )
            matched.add(sha2)
    unmatched = sorted(set(parts) - matched)
    if unmatched:
        _fail(
            f"The part with X-Experience-API-Hash {unmatched[0]} is not the content of any "
            "attachment of the statements sent."
        )


def _attachments_store(*, institution: Institution, outcomes, parts) -> None:
    """Keep the content of the new statements' attachments, once per institution and hash."""
    wanted: dict[str, str] = {}
    for outcome in outcomes:
        if not outcome.created:
            continue
        for attachment in outcome.statement.raw.get("attachments") or ():
            sha2 = attachment["sha2"].lower()
            if sha2 in parts:
                wanted.setdefault(sha2, attachment["contentType"])
    kept = set(
        XapiAttachment.objects.filter(institution=institution, sha2__in=wanted).values_list(
            "sha2", flat=True
        )
    )
    for sha2, content_type in wanted.items():
        if sha2 in kept:
            continue
        attachment = XapiAttachment(
            institution=institution,
            sha2=sha2,
            content_type=content_type[:255],
            length=len(parts[sha2].content),
        )
        path = attachment.file.field.generate_filename(attachment, sha2)
        if attachment.file.storage.exists(path):
            # Written by a request that was rolled back afterwards: the path names the
            # content, so the file is this content.
            attachment.file.name = path
        else:
            attachment.file.save(sha2, ContentFile(parts[sha2].content), save=False)
        try:
            with transaction.atomic():
                attachment.save()
        except IntegrityError:
            pass  # kept by a parallel request a moment ago: the same content


def _statement_store(
    *, api_key: ApiKey, institution: Institution, s: ValidStatement, first_try: bool
):
    existing = selectors.xapi_statement_stored(institution=institution, statement_id=s.id)
    if existing is not None:
        return _existing_outcome(existing, s)
    if s.voids is not None:
        target = selectors.xapi_statement_stored(institution=institution, statement_id=s.voids)
        if target is not None and target.verb_iri == VOIDED:
            _fail("object.id: a voiding statement cannot void another voiding statement.")
    now = timezone.now()
    authority = authority_of(api_key)
    stored = XapiStatement(
        institution=institution,
        statement_id=s.id,
        raw=s.raw,
        stored=now,
        timestamp=s.timestamp or now,
        authority=authority,
        api_key=api_key,
        actor_ifi=s.actor_ifi[:600],
        verb_iri=s.verb_iri[:500],
        activity_iri=s.activity_iri[:500],
        voids=s.voids,
    )
    # Its progress first, so that the row is written once with what became of it. A
    # parallel request storing the same id makes the insert fail: statements_store then
    # starts again.
    _progress_apply(
        stored=stored, api_key=api_key, institution=institution, retried_by_caller=first_try
    )
    XapiStatement.objects.bulk_create([stored])
    XapiStatementKey.objects.bulk_create(
        XapiStatementKey(
            statement=stored, institution=institution, kind=kind, key=key, related=related
        )
        for (kind, key), related in statement_keys(s.raw, authority=authority).items()
    )
    if s.voids is not None:
        XapiStatement.objects.filter(institution=institution, statement_id=s.voids).update(
            voided=True
        )
    return StoredOutcome(stored, created=True)


def _existing_outcome(existing: XapiStatement, s: ValidStatement) -> StoredOutcome:
    if not _same_statement(existing.raw, s.raw):
        _fail(f"id: statement {s.id} was stored before with different content.", status=409)
    return StoredOutcome(existing, created=False)


# --- What a statement is about (query keys) -------------------------------------------------


def _agent_keys(agent: Any) -> list[str]:
    """The inverse functional identifiers of a valid Agent or Group and of a Group's members."""
    if not isinstance(agent, dict):
        return []
    own = ifi_key(agent, "agent")
    keys = [own] if own else []
    for member in agent.get("member") or ():
        keys += _agent_keys(member)
    return keys


def _activity_ids(context: Any) -> list[str]:
    """The ids of a context's contextActivities (each kind a list or a single activity)."""
    if not isinstance(context, dict) or not isinstance(context.get("contextActivities"), dict):
        return []
    ids = []
    for items in context["contextActivities"].values():
        for item in items if isinstance(items, list) else [items]:
            ids.append(item["id"])
    return ids


def _context_agents(context: Any) -> list[str]:
    if not isinstance(context, dict):
        return []
    return _agent_keys(context.get("instructor")) + _agent_keys(context.get("team"))


def statement_keys(raw: dict, *, authority: dict) -> dict[tuple[str, str], bool]:
    """What a valid statement is about: ``(kind, key) → related`` for :class:`XapiStatementKey`.

    Narrow (``related`` False), as the ``agent`` and ``activity`` filters match: the actor and
    an Agent or Group object, with their members; an Activity object. Related (True), as
    ``related_agents`` / ``related_activities`` add: the authority (the one the LRS returns),
    the context's instructor, team and activities, and a SubStatement's actor, object and
    context.
    """
    keys: dict[tuple[str, str], bool] = {}

    def add(kind: str, values: Iterable[str], related: bool) -> None:
        for value in values:
            key = (kind, value[:600])
            keys[key] = keys.get(key, True) and related

    def add_object(target: Any, related: bool) -> None:
        if not isinstance(target, dict):
            return
        object_type = target.get("objectType", "Activity")
        if object_type == "Activity":
            add(XapiKeyKind.ACTIVITY, [target["id"]], related)
        elif object_type in ("Agent", "Group"):
            add(XapiKeyKind.AGENT, _agent_keys(target), related)
        elif object_type == "SubStatement":
            add(XapiKeyKind.AGENT, _agent_keys(target.get("actor")), True)
            add_object(target.get("object"), True)
            add(XapiKeyKind.AGENT, _context_agents(target.get("context")), True)
            add(XapiKeyKind.ACTIVITY, _activity_ids(target.get("context")), True)

    add(XapiKeyKind.AGENT, _agent_keys(raw.get("actor")), False)
    add_object(raw.get("object"), False)
    add(XapiKeyKind.AGENT, _agent_keys(authority), True)
    add(XapiKeyKind.AGENT, _context_agents(raw.get("context")), True)
    add(XapiKeyKind.ACTIVITY, _activity_ids(raw.get("context")), True)
    return keys


def statements_about(
    queryset: QuerySet, *, institution: Institution, kind: str, key: str, related: bool
) -> QuerySet:
    """Narrow ``queryset`` to the statements about an agent (IFI key) or an activity (IRI),
    as the filter matches (``related`` False) or as its ``related_*`` form does (True).

    One look-up in the key index, whatever the size of the statements' JSON."""
    keys = XapiStatementKey.objects.filter(institution=institution, kind=kind, key=key[:600])
    if not related:
        keys = keys.filter(related=False)
    return queryset.filter(pk__in=keys.values("statement_id"))


# --- Mapping to progress ----------------------------------------------------------------------


def _score_percent(result: dict) -> Decimal | None:
    score = result.get("score") or {}
    if "scaled" in score:
        value = Decimal(str(score["scaled"])) * 100
    elif "raw" in score and score.get("max"):
        low = Decimal(str(score.get("min", 0)))
        high = Decimal(str(score["max"]))
        if high <= low:
            return None
        value = (Decimal(str(score["raw"])) - low) / (high - low) * 100
    else:
        return None
    value = min(max(value, Decimal(0)), Decimal(100))
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _actor_account_name(raw: dict) -> str | None:
    """The actor's ``account.name``: the learner's external id at the institution."""
    account = raw["actor"].get("account") if isinstance(raw["actor"], dict) else None
    return account.get("name") if isinstance(account, dict) else None


def _progress_apply(
    *,
    stored: XapiStatement,
    api_key: ApiKey,
    institution: Institution,
    learners=None,
    retried_by_caller: bool = False,
) -> None:
    """Turn a statement into a progress event when it maps to a module, and note on it what
    became of its progress (saved at once if the statement is stored already: a replay).
    ``learners``: the institution's learners by external id, when the caller read the
    actor's already. ``retried_by_caller``: the caller tries its whole transaction again on
    a clash (see :func:`courses.services.progress_event_record_or_clash`)."""
    raw = stored.raw
    verb = PROGRESS_VERBS.get(stored.verb_iri)
    mapped = (
        selectors.institution_activity_module(
            institution=institution, activity_iri=stored.activity_iri
        )
        if verb is not None
        else None
    )
    if mapped is None:
        _progress_note(stored, XapiProgressStatus.NOT_MAPPED)
        return
    module, course = mapped
    external_id = _actor_account_name(raw)
    if external_id and learners is None:
        learners = lms_selectors.learners_by_external_id(
            institution=institution, external_ids=[external_id]
        )
    learner = learners.get(external_id) if external_id else None
    if learner is None:
        _progress_note(
            stored,
            XapiProgressStatus.UNKNOWN_LEARNER,
            "No learner with this actor.account.name as external id at your institution.",
        )
        return
    result = raw.get("result") or {}
    success = result.get("success")
    if verb == ProgressVerb.PASSED:
        success = True
    elif verb == ProgressVerb.FAILED:
        success = False

    try:
        # Applied whole or refused leaving nothing behind (in a savepoint of its own, unless
        # the caller's transaction is tried again whole on a clash).
        record = progress_event_record_or_clash if retried_by_caller else progress_event_record
        recorded = record(
            event_id=stored.statement_id,
            learner=learner,
            verb=verb,
            course=course,
            module=module,
            score=_score_percent(result),
            success=success,
            occurred_at=stored.timestamp,
            source=ProgressSource.XAPI,
            recorded_by=api_key,
            extra={"xapi_statement_id": str(stored.statement_id), "xapi_verb": stored.verb_iri},
        )
    except LearningError as error:
        _progress_note(stored, XapiProgressStatus.REJECTED, str(error))
        return
    stored.progress_event = recorded.event
    _progress_note(
        stored,
        XapiProgressStatus.APPLIED if recorded.created else XapiProgressStatus.DUPLICATE,
    )


def _progress_note(stored: XapiStatement, status: str, reason: str = "") -> None:
    stored.progress_status = status
    stored.progress_reason = reason[:500]
    if stored.pk is not None:
        stored.save(update_fields=["progress_status", "progress_reason", "progress_event"])


# --- Replay -----------------------------------------------------------------------------------

#: Progress statuses a replay looks at again: since the statement arrived, its learner may have
#: been created, enrolled in the course, or its activity mapped to a module.
REPLAYABLE = (
    XapiProgressStatus.PENDING,
    XapiProgressStatus.UNKNOWN_LEARNER,
    XapiProgressStatus.NOT_MAPPED,
    XapiProgressStatus.REJECTED,
)


def statements_replay(
    *, institution: Institution, external_ids: Iterable[str] | None = None
) -> Counter:
    """Apply again the institution's statements that brought no progress when they arrived.

    For statements with a progress verb whose learner was unknown, not enrolled (``rejected``)
    or whose activity was not mapped — of the learners with ``external_ids`` (their
    ``actor.account.name``), or all — in the order they were stored. Voided statements are
    left alone. Idempotent: a statement applied (or voided) meanwhile is skipped, and its
    progress event's id is the statement id, so no statement brings progress twice. Each
    statement is applied in its own transaction and keeps its new ``progress_status``.

    Returns how many statements ended with each progress status.
    """
    candidates = XapiStatement.objects.filter(
        institution=institution,
        voided=False,
        verb_iri__in=list(PROGRESS_VERBS),
        progress_status__in=REPLAYABLE,
    )
    if external_ids is not None:
        names = Q(pk__in=[])
        for external_id in external_ids:
            # actor_ifi is "account:<homePage>|<name>" (the homePage is the LMS's own).
            names |= Q(actor_ifi__startswith="account:", actor_ifi__endswith=f"|{external_id}")
        candidates = candidates.filter(names)
    statuses: Counter = Counter()
    for pk in list(candidates.order_by("pk").values_list("pk", flat=True)):
        status = _statement_replay(pk=pk, institution=institution)
        if status is not None:
            statuses[status] += 1
    return statuses


def _statement_replay(*, pk: int, institution: Institution) -> str | None:
    with transaction.atomic():
        stored = (
            XapiStatement.objects.select_for_update(of=("self",))
            .select_related("api_key")
            .filter(pk=pk, voided=False, progress_status__in=REPLAYABLE)
            .first()
        )
        if stored is None:
            return None  # applied by a parallel replay, or voided, a moment ago
        _progress_apply(stored=stored, api_key=stored.api_key, institution=institution)
        return str(stored.progress_status)


def learner_statements_replay(*, learner_id: int) -> Counter:
    """:func:`statements_replay` for one learner, at every institution that knows them by an
    external id (a learner just enrolled by an institution, say)."""
    statuses: Counter = Counter()
    for identity in lms_selectors.learner_identities_of(user_id=learner_id):
        statuses += statements_replay(
            institution=identity.institution, external_ids=[identity.external_id]
        )
    return statuses


# --- Reading ----------------------------------------------------------------------------------

FORMATS = ("exact", "ids", "canonical")


def statement_json(
    stored: XapiStatement, *, format: str = "exact", languages: Iterable[str] = ()
) -> dict:
    """The statement as the LRS returns it: as received, with the properties the LRS sets.

    ``format`` as GET's parameter: ``exact`` as received; ``ids`` with agents, groups,
    activities and the verb reduced to what identifies them; ``canonical`` with each language
    map of its activities and verb reduced to the one language that best fits ``languages``
    (Accept-Language, best first; see :func:`language_pick`). Context activities are always
    lists, as xAPI requires of the LRS.
    """
    statement = dict(stored.raw)
    statement["stored"] = stored.stored.isoformat()
    statement["authority"] = stored.authority
    statement.setdefault("timestamp", stored.timestamp.isoformat())
    statement.setdefault("version", "1.0.0")
    if format == "ids":
        return _reshape(statement, agent=_agent_ids, activity=_activity_ids_only, verb=_verb_id)
    if format == "canonical":
        languages = tuple(languages)
        return _reshape(
            statement,
            agent=_same,
            activity=lambda activity: _activity_canonical(activity, languages),
            verb=lambda verb: _verb_canonical(verb, languages),
        )
    return _reshape(statement, agent=_same, activity=_same, verb=_same)


def _same(value):
    return value


def _reshape(statement: dict, *, agent: Callable, activity: Callable, verb: Callable) -> dict:
    """A copy of a statement (or SubStatement) with each agent, activity and verb passed
    through the functions given."""
    shaped = dict(statement)
    for key in ("actor", "authority"):
        if isinstance(shaped.get(key), dict):
            shaped[key] = agent(shaped[key])
    if isinstance(shaped.get("verb"), dict):
        shaped["verb"] = verb(shaped["verb"])
    target = shaped.get("object")
    if isinstance(target, dict):
        object_type = target.get("objectType", "Activity")
        if object_type == "Activity":
            shaped["object"] = activity(target)
        elif object_type in ("Agent", "Group"):
            shaped["object"] = agent(target)
        elif object_type == "SubStatement":
            shaped["object"] = _reshape(target, agent=agent, activity=activity, verb=verb)
    context = shaped.get("context")
    if isinstance(context, dict):
        context = dict(context)
        for key in ("instructor", "team"):
            if isinstance(context.get(key), dict):
                context[key] = agent(context[key])
        if isinstance(context.get("contextActivities"), dict):
            context["contextActivities"] = {
                kind: [activity(item) for item in (items if isinstance(items, list) else [items])]
                for kind, items in context["contextActivities"].items()
            }
        shaped["context"] = context
    return shaped


def _agent_ids(agent: dict) -> dict:
    """An Agent or identified Group by its identifier; an anonymous Group by its members'."""
    reduced = {"objectType": agent.get("objectType", "Agent")}
    identifiers = {key: agent[key] for key in IFI_KEYS if key in agent}
    reduced.update(identifiers)
    if reduced["objectType"] == "Group" and not identifiers:
        reduced["member"] = [_agent_ids(member) for member in agent.get("member") or ()]
    return reduced


def _activity_ids_only(activity: dict) -> dict:
    return {"objectType": "Activity", "id": activity.get("id")}


def _verb_id(verb: dict) -> dict:
    return {"id": verb.get("id")}


def accept_languages(header: str) -> tuple[str, ...]:
    """The language ranges of an Accept-Language header, best first (RFC 2616, 14.4)."""
    ranges = []
    for position, item in enumerate((header or "").split(",")):
        language, _sep, parameters = item.strip().partition(";")
        quality = 1.0
        name, _sep, value = parameters.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
        if language.strip() and quality > 0:
            ranges.append((-quality, position, language.strip().lower()))
    return tuple(language for _quality, _position, language in sorted(ranges))


def language_pick(language_map: dict, languages: tuple[str, ...]) -> dict:
    """The one entry of a language map that best fits ``languages`` (best first).

    A range takes a tag it names or begins (``en`` takes ``en-GB``, RFC 2616, 14.4); failing
    that, before the next range is tried, its shorter forms do (``sw-KE`` takes ``sw``, as
    RFC 4647's lookup). When none fits: the site's default language (``LANGUAGE_CODE``), else
    the first tag in alphabetical order — not the first as sent, which PostgreSQL's jsonb
    does not keep.
    """
    if len(language_map) <= 1:
        return dict(language_map)
    tags = sorted((tag.lower(), tag) for tag in language_map)
    for wanted in (*languages, settings.LANGUAGE_CODE.lower()):
        if wanted == "*":
            break
        subtags = wanted.split("-")
        for end in range(len(subtags), 0, -1):
            prefix = "-".join(subtags[:end])
            for lower, tag in tags:
                if lower == prefix or lower.startswith(f"{prefix}-"):
                    return {tag: language_map[tag]}
    first = tags[0][1]
    return {first: language_map[first]}


def _verb_canonical(verb: dict, languages: tuple[str, ...]) -> dict:
    if not isinstance(verb.get("display"), dict):
        return verb
    return {**verb, "display": language_pick(verb["display"], languages)}


def _activity_canonical(activity: dict, languages: tuple[str, ...]) -> dict:
    """The activity with one language in its name, description and interaction components.

    The canonical definition is the one the statement carries: the LRS keeps no other (the
    Activities resource is not offered)."""
    definition = activity.get("definition")
    if not isinstance(definition, dict):
        return activity
    definition = dict(definition)
    for key in ("name", "description"):
        if isinstance(definition.get(key), dict):
            definition[key] = language_pick(definition[key], languages)
    for key in INTERACTION_COMPONENT_KEYS:
        if isinstance(definition.get(key), list):
            definition[key] = [
                {**component, "description": language_pick(component["description"], languages)}
                if isinstance(component, dict) and isinstance(component.get("description"), dict)
                else component
                for component in definition[key]
            ]
    return {**activity, "definition": definition}


def statement_attachments(
    *, institution: Institution, statements: Iterable[dict]
) -> list[XapiAttachment]:
    """The content the institution holds for the statements' attachments, each once, in the
    order the statements name them (attachments known only by fileUrl have none)."""
    order: dict[str, None] = {}
    for statement in statements:
        for attachment in statement.get("attachments") or ():
            # Statements stored before attachments were validated may name no hash.
            if isinstance(attachment, dict) and isinstance(attachment.get("sha2"), str):
                order.setdefault(attachment["sha2"].lower(), None)
    if not order:
        return []
    held = {
        attachment.sha2: attachment
        for attachment in XapiAttachment.objects.filter(institution=institution, sha2__in=order)
    }
    return [held[sha2] for sha2 in order if sha2 in held]
