"""Statements as the LRS returns them: the exact, ids and canonical formats."""

from collections.abc import Callable, Iterable

from django.conf import settings

from courses.models import XapiAttachment, XapiStatement
from courses.xapi.common import IFI_KEYS, INTERACTION_COMPONENT_KEYS
from lms.models import Institution

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
    """An activity by its id alone (an object without objectType is an Activity)."""
    return {"id": activity.get("id")}


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
