"""Checking statements against xAPI 1.0.3 (Data, section 2) before anything is stored."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import langcodes

from courses.xapi.common import (
    ACTIVITY_KEYS,
    AGENT_KEYS,
    ATTACHMENT_KEYS,
    CONTEXT_ACTIVITY_KEYS,
    CONTEXT_KEYS,
    DEFINITION_KEYS,
    DURATION_PATTERN,
    GROUP_KEYS,
    IFI_KEYS,
    INTERACTION_COMPONENT_KEYS,
    INTERACTION_TYPES,
    IRI_PATTERN,
    MBOX_PATTERN,
    MEDIA_TYPE_PATTERN,
    RESULT_KEYS,
    SCORE_KEYS,
    SHA1_PATTERN,
    STATEMENT_KEYS,
    SUBSTATEMENT_KEYS,
    TIMESTAMP_PATTERN,
    UNKNOWN_OFFSET_PATTERN,
    VERB_KEYS,
    VERSION_PATTERN,
    VOIDED,
    refuse,
)

# --- Validation -------------------------------------------------------------------------------


def version_check(value: str | None) -> None:
    if not value:
        refuse("X-Experience-API-Version header is required (1.0.x).")
    if not VERSION_PATTERN.match(value.strip()):
        refuse(f"X-Experience-API-Version '{value}' is not supported: use 1.0.x.")


def parse_uuid(value: Any, field: str) -> uuid.UUID:
    if not isinstance(value, str):
        refuse(f"{field}: must be a UUID string.")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        refuse(f"{field}: '{value}' is not a valid UUID.")
    # xAPI requires the canonical hyphenated form (RFC 4122 variant).
    if str(parsed) != value.lower():
        refuse(f"{field}: '{value}' is not a UUID in its canonical form.")
    return parsed


def parse_timestamp(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not TIMESTAMP_PATTERN.match(value):
        refuse(f"{field}: '{value}' is not an ISO 8601 timestamp with a time zone.")
    if UNKNOWN_OFFSET_PATTERN.search(value):
        # RFC 3339 4.3: -00:00 says the offset is unknown; xAPI (Data 2.4.7) refuses it.
        refuse(f"{field}: '{value}' has the offset -00:00 (unknown); use Z or +00:00.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        refuse(f"{field}: '{value}' is not a valid ISO 8601 timestamp.")
    if parsed.tzinfo is None:  # pragma: no cover - the pattern requires an offset
        refuse(f"{field}: '{value}' has no time zone.")
    return parsed


def _object(value: Any, field: str) -> dict:
    if not isinstance(value, dict):
        refuse(f"{field}: must be a JSON object.")
    return value


def _only(value: dict, allowed: set, field: str) -> None:
    extra = set(value) - allowed
    if extra:
        refuse(f"{field}: unexpected properties {', '.join(sorted(extra))}.")


def iri_check(value: Any, field: str) -> str:
    if not isinstance(value, str) or not IRI_PATTERN.match(value):
        refuse(f"{field}: '{value}' is not an IRI.")
    return value


def language_tag_check(value: Any, field: str) -> str:
    """An RFC 5646 language tag, checked by :mod:`langcodes` (xAPI Data 4.2 / 2.2.s4.b2)."""
    if not isinstance(value, str) or not langcodes.tag_is_valid(value):
        refuse(f"{field}: {value!r} is not an RFC 5646 language tag.")
    return value


def _language_map(value: Any, field: str) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        refuse(f"{field}: must be a language map (language tag → string).")
    for tag in value:
        language_tag_check(tag, f"{field} key")


def _extensions(value: Any, field: str) -> None:
    for key in _object(value, field):
        iri_check(key, f"{field} key")


def ifi_key(agent: dict, field: str) -> str | None:
    """The agent's single inverse functional identifier as a string, or None if it has none.

    Raises :class:`XapiError` for two or more identifiers or a malformed one.
    """
    present = [key for key in IFI_KEYS if key in agent]
    if len(present) > 1:
        refuse(f"{field}: has {len(present)} inverse functional identifiers; exactly one allowed.")
    if not present:
        return None
    key = present[0]
    value = agent[key]
    if key == "mbox":
        if not isinstance(value, str) or not MBOX_PATTERN.match(value):
            refuse(f"{field}.mbox: must be a 'mailto:' IRI.")
        return f"mbox:{value.lower()}"
    if key == "mbox_sha1sum":
        if not isinstance(value, str) or not SHA1_PATTERN.match(value):
            refuse(f"{field}.mbox_sha1sum: must be a SHA-1 hex digest.")
        return f"mbox_sha1sum:{value.lower()}"
    if key == "openid":
        return f"openid:{iri_check(value, f'{field}.openid')}"
    account = _object(value, f"{field}.account")
    _only(account, {"homePage", "name"}, f"{field}.account")
    home = iri_check(account.get("homePage"), f"{field}.account.homePage")
    name = account.get("name")
    if not isinstance(name, str) or not name:
        refuse(f"{field}.account.name: required string.")
    return f"account:{home}|{name}"


def validate_agent(value: Any, field: str) -> str | None:
    """Validate an Agent or Group; return its IFI key (None for an anonymous group)."""
    agent = _object(value, field)
    object_type = agent.get("objectType", "Agent")
    if object_type == "Agent":
        _only(agent, AGENT_KEYS, field)
        key = ifi_key(agent, field)
        if key is None:
            refuse(f"{field}: an Agent needs exactly one inverse functional identifier.")
    elif object_type == "Group":
        _only(agent, GROUP_KEYS, field)
        key = ifi_key(agent, field)
        members = agent.get("member")
        if key is None and not members:
            refuse(f"{field}: an anonymous Group needs a member list.")
        if members is not None:
            if not isinstance(members, list):
                refuse(f"{field}.member: must be a list.")
            for index, member in enumerate(members):
                if _object(member, f"{field}.member[{index}]").get("objectType") == "Group":
                    refuse(f"{field}.member[{index}]: a Group cannot hold a Group.")
                validate_agent(member, f"{field}.member[{index}]")
    else:
        refuse(f"{field}.objectType: must be Agent or Group, not '{object_type}'.")
    if "name" in agent and not isinstance(agent["name"], str):
        refuse(f"{field}.name: must be a string.")
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
        _validate_interaction(definition, f"{field}.definition")
    return activity_id


def _validate_interaction(definition: dict, field: str) -> None:
    """interactionType one of xAPI's, spelled as they are (Data 2.4.4.1.s8), and interaction
    components only with it (Data 2.4.4.1.s9): each a list of {id, description}."""
    components = (*INTERACTION_COMPONENT_KEYS, "correctResponsesPattern")
    given = [key for key in components if key in definition]
    if "interactionType" not in definition:
        if given:
            refuse(f"{field}.{given[0]}: allowed only with an interactionType.")
        return
    interaction_type = definition["interactionType"]
    if not isinstance(interaction_type, str) or interaction_type not in INTERACTION_TYPES:
        refuse(
            f"{field}.interactionType: {interaction_type!r} is not one of "
            f"{', '.join(INTERACTION_TYPES)}."
        )
    if "correctResponsesPattern" in definition:
        pattern = definition["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(item, str) for item in pattern):
            refuse(f"{field}.correctResponsesPattern: must be a list of strings.")
    for key in INTERACTION_COMPONENT_KEYS:
        if key not in definition:
            continue
        items = definition[key]
        if not isinstance(items, list):
            refuse(f"{field}.{key}: must be a list of interaction components.")
        seen = set()
        for index, item in enumerate(items):
            where = f"{field}.{key}[{index}]"
            component = _object(item, where)
            _only(component, {"id", "description"}, where)
            if not isinstance(component.get("id"), str) or not component["id"]:
                refuse(f"{where}.id: required string.")
            if component["id"] in seen:
                refuse(f"{where}.id: '{component['id']}' appears twice.")
            seen.add(component["id"])
            if "description" in component:
                _language_map(component["description"], f"{where}.description")


@dataclass(frozen=True)
class ObjectInfo:
    activity_iri: str = ""
    statement_ref: uuid.UUID | None = None


def _validate_object(value: Any, field: str, *, sub: bool = False) -> ObjectInfo:
    if value is None:
        refuse(f"{field}: required.")
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
            refuse(f"{field}: a SubStatement cannot hold a SubStatement.")
        _only(target, SUBSTATEMENT_KEYS, field)
        _validate_core(target, field, sub=True)
        return ObjectInfo()
    refuse(f"{field}.objectType: unknown object type '{object_type}'.")


def _validate_score(value: Any, field: str) -> None:
    score = _object(value, field)
    _only(score, SCORE_KEYS, field)
    for key in SCORE_KEYS & set(score):
        if isinstance(score[key], bool) or not isinstance(score[key], int | float):
            refuse(f"{field}.{key}: must be a number.")
    if "scaled" in score and not -1 <= score["scaled"] <= 1:
        refuse(f"{field}.scaled: must be between -1 and 1, not {score['scaled']}.")
    low, high, raw = score.get("min"), score.get("max"), score.get("raw")
    if low is not None and high is not None and low >= high:
        refuse(f"{field}.min: must be less than max.")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        refuse(f"{field}.raw: must be between min and max.")


def _validate_result(value: Any, field: str) -> None:
    result = _object(value, field)
    _only(result, RESULT_KEYS, field)
    if "score" in result:
        _validate_score(result["score"], f"{field}.score")
    for key in ("success", "completion"):
        if key in result and not isinstance(result[key], bool):
            refuse(f"{field}.{key}: must be true or false.")
    if "response" in result and not isinstance(result["response"], str):
        refuse(f"{field}.response: must be a string.")
    if "duration" in result and (
        not isinstance(result["duration"], str) or not DURATION_PATTERN.match(result["duration"])
    ):
        refuse(f"{field}.duration: '{result['duration']}' is not an ISO 8601 duration.")
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
            refuse(f"{field}.team: must be a Group.")
        validate_agent(context["team"], f"{field}.team")
    if "contextActivities" in context:
        activities = _object(context["contextActivities"], f"{field}.contextActivities")
        _only(activities, CONTEXT_ACTIVITY_KEYS, f"{field}.contextActivities")
        for kind, items in activities.items():
            for index, item in enumerate(items if isinstance(items, list) else [items]):
                where = f"{field}.contextActivities.{kind}[{index}]"
                if _object(item, where).get("objectType", "Activity") != "Activity":
                    refuse(f"{where}: must be an Activity.")
                _validate_activity(item, where)
    is_activity = obj.get("objectType", "Activity") == "Activity"
    for key in ("revision", "platform"):
        if key in context:
            if not is_activity:
                refuse(f"{field}.{key}: allowed only when the object is an Activity.")
            if not isinstance(context[key], str):
                refuse(f"{field}.{key}: must be a string.")
    if "language" in context:
        language_tag_check(context["language"], f"{field}.language")
    if "statement" in context:
        ref = _object(context["statement"], f"{field}.statement")
        if ref.get("objectType") != "StatementRef":
            refuse(f"{field}.statement: must be a StatementRef.")
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
        refuse(f"{prefix}actor: required.")
    actor_ifi = validate_agent(statement["actor"], f"{prefix}actor") or ""
    if "verb" not in statement:
        refuse(f"{prefix}verb: required.")
    verb_iri = _validate_verb(statement["verb"], f"{prefix}verb")
    if "object" not in statement:
        refuse(f"{prefix}object: required.")
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
        refuse(f"{field}: must be a list.")
    for index, item in enumerate(value):
        where = f"{field}[{index}]"
        attachment = _object(item, where)
        _only(attachment, ATTACHMENT_KEYS, where)
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in attachment:
                refuse(f"{where}.{key}: required.")
        iri_check(attachment["usageType"], f"{where}.usageType")
        _language_map(attachment["display"], f"{where}.display")
        if "description" in attachment:
            _language_map(attachment["description"], f"{where}.description")
        content_type = attachment["contentType"]
        if not isinstance(content_type, str) or not MEDIA_TYPE_PATTERN.fullmatch(content_type):
            refuse(
                f"{where}.contentType: must be an Internet media type such as 'application/pdf'."
            )
        length = attachment["length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            refuse(f"{where}.length: must be the content's length in octets (a whole number).")
        if not isinstance(attachment["sha2"], str) or not attachment["sha2"]:
            refuse(f"{where}.sha2: must be the SHA-2 hash of the content, in hexadecimal.")
        if "fileUrl" in attachment:
            iri_check(attachment["fileUrl"], f"{where}.fileUrl")


def _validate_authority(value: Any) -> None:
    """An Agent, or an anonymous Group of two Agents: an OAuth consumer and its user
    (Data 2.4.9.s3.b1)."""
    validate_agent(value, "authority")
    if value.get("objectType") != "Group":
        return
    if any(key in value for key in IFI_KEYS):
        refuse("authority: a Group authority must be anonymous (no identifier).")
    if len(value.get("member") or ()) != 2:
        refuse("authority: a Group authority has exactly two members (OAuth consumer and user).")


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
            refuse("id: differs from the statementId parameter.")
        statement_id = given
    statement_id = statement_id or uuid.uuid4()
    raw["id"] = str(statement_id)
    core = _validate_core(statement, "")
    if "version" in statement and (
        not isinstance(statement["version"], str) or not VERSION_PATTERN.match(statement["version"])
    ):
        refuse(f"version: '{statement['version']}' is not 1.0.x.")
    if "authority" in statement:
        _validate_authority(statement["authority"])
    if "attachments" in statement:
        _validate_attachments(statement["attachments"], "attachments")
    voids = None
    if core.verb_iri == VOIDED:
        if core.object_info.statement_ref is None:
            refuse("object: a voiding statement's object must be a StatementRef.")
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
