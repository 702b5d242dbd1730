"""The document resources (Communication 2.2–2.7): State, Activity Profile, Agent Profile,
and the Activities and Agents resources that describe what the statements name.

Documents are kept per institution (:class:`courses.models.XapiDocument`); an API key
reads and writes only its institution's. Writes take the row's lock (or its unique
constraint, for a new document) in a transaction, so that two concurrent PUTs with the same
``If-Match`` end one 204 and one 412, and two PUTs of a new document write one row.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from courses.models import XapiDocument, XapiDocumentKind, XapiStatement, XapiStatementKey
from courses.xapi.common import json_parse, refuse
from lms.models import Institution

JSON = "application/json"
#: How many statements naming an activity the Activities resource merges, newest first.
ACTIVITY_STATEMENTS = 50


@dataclass(frozen=True)
class DocumentScope:
    """What names a document (or, without ``document_id``, the documents listed together:
    an activity's and agent's, of one registration or all)."""

    kind: str
    activity_id: str = ""
    agent: str = ""  # the agent's inverse functional identifier key
    registration: str = ""
    document_id: str = ""

    def listing(self) -> str:
        return _digest(self.kind, self.activity_id, self.agent)

    def scope(self) -> str:
        return _digest(self.listing(), self.registration, self.document_id)

    def listed(self, institution: Institution):
        """The documents of this activity and agent; of this registration, when one is given
        (without it, of every registration: Communication 2.3.s4, 2.3.s5)."""
        documents = XapiDocument.objects.filter(
            institution=institution, listing=self.listing(), kind=self.kind
        )
        if self.registration:
            documents = documents.filter(registration=self.registration)
        return documents


@dataclass(frozen=True)
class Preconditions:
    """The request's ``If-Match`` / ``If-None-Match`` (RFC 2616, 14.24 and 14.26)."""

    if_match: str | None = None
    if_none_match: str | None = None

    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None


@dataclass(frozen=True)
class Sent:
    content: bytes
    content_type: str


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


def _tags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/").strip('"') for tag in header.split(",") if tag.strip()}


def _preconditions_check(existing: XapiDocument | None, pre: Preconditions) -> None:
    if pre.if_match is not None:
        tags = _tags(pre.if_match)
        if existing is None or ("*" not in tags and existing.etag not in tags):
            refuse("If-Match: the document has changed or does not exist.", status=412)
    if pre.if_none_match is not None and existing is not None:
        tags = _tags(pre.if_none_match)
        if "*" in tags or existing.etag in tags:
            refuse("If-None-Match: the document exists already.", status=412)


def _is_json(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == JSON


def _json_object(content: bytes, what: str) -> dict:
    value = json_parse(content or b"null", what)
    if not isinstance(value, dict):
        refuse(f"{what}: must be a JSON object to be merged.")
    return value


#: The one document of a scope, with only what a GET answers with (a SQL template: content
#: read by bookmark, on every page of a package, spends nothing on building a query).
_DOCUMENT_READ = (
    "SELECT id, content, content_type, etag, updated FROM courses_xapidocument"
    " WHERE institution_id = %s AND scope = %s"
)


def document_get(*, institution: Institution, scope: DocumentScope) -> XapiDocument | None:
    found = list(XapiDocument.objects.raw(_DOCUMENT_READ, [institution.pk, scope.scope()]))
    return found[0] if found else None


def document_ids(
    *, institution: Institution, scope: DocumentScope, since: datetime | None
) -> list[str]:
    """The ids of the documents listed together under ``scope``, updated after ``since``."""
    documents = scope.listed(institution)
    if since is not None:
        documents = documents.filter(updated__gt=since)
    ids = documents.order_by("document_id").values_list("document_id", flat=True)
    return list(dict.fromkeys(ids))  # once each, though several registrations have it


def document_put(
    *, institution: Institution, scope: DocumentScope, sent: Sent, pre: Preconditions
) -> XapiDocument:
    """Store ``sent`` as the document, replacing what was there.

    A profile is written only under ``If-Match`` or ``If-None-Match`` (else 409 when it
    exists, Communication 3.1, and 400 when not); a precondition that fails is 412; nothing
    changes then. State takes a PUT without them: content saves its bookmark over and over,
    in one statement (:func:`_document_upsert`); a PUT with ``If-Match`` alone is one
    conditional ``UPDATE``."""

    if scope.kind == XapiDocumentKind.STATE and not pre.given():
        return _document_upsert(institution, scope, sent)
    if pre.if_none_match is None and pre.if_match is not None:
        return _document_replace_if_match(institution, scope, sent, pre.if_match)

    def replacing(existing: XapiDocument | None) -> Sent:
        if scope.kind != XapiDocumentKind.STATE and not pre.given():
            # 409 over an existing profile (Communication 3.1); for a new one, 400 as ADL's
            # conformance suite expects: a profile PUT always says what it expects to find.
            refuse(
                "A profile is written with If-Match (the ETag of the profile it replaces) or "
                "If-None-Match: * (only if there is none yet).",
                status=409 if existing is not None else 400,
            )
        return sent

    return _document_write(institution, scope, pre, replacing)


def document_post(
    *, institution: Institution, scope: DocumentScope, sent: Sent, pre: Preconditions
) -> XapiDocument:
    """Merge ``sent`` into the document (Communication 2.2.s7): the top-level properties of
    two JSON objects, the sent ones winning; stored as sent when there is none yet. A JSON
    document that is not a JSON object, or a merge of a non-JSON document, is 400."""
    if _is_json(sent.content_type):
        _json_object(sent.content, "The document")

    def merged(existing: XapiDocument | None) -> Sent:
        if existing is None:
            return sent
        if not (_is_json(sent.content_type) and _is_json(existing.content_type)):
            refuse(
                "Only application/json documents are merged by POST: the stored or the sent "
                "document is not; replace it with PUT."
            )
        document = _json_object(bytes(existing.content), "The stored document")
        document.update(_json_object(sent.content, "The document"))
        return Sent(json.dumps(document, ensure_ascii=False).encode(), JSON)

    return _document_write(institution, scope, pre, merged)


def _document_new(institution, scope: DocumentScope, sent: Sent) -> XapiDocument:
    return XapiDocument(
        institution=institution,
        kind=scope.kind,
        scope=scope.scope(),
        listing=scope.listing(),
        activity_id=scope.activity_id,
        agent=scope.agent,
        registration=scope.registration,
        document_id=scope.document_id,
        content=sent.content,
        content_type=(sent.content_type or "application/octet-stream")[:255],
        etag=etag_of(sent.content),
        updated=timezone.now(),
    )


#: A State PUT without preconditions: insert, or replace the content of the row with the same
#: institution and scope. One statement, atomic by itself, the same on PostgreSQL and SQLite.
_UPSERT = (
    "INSERT INTO courses_xapidocument (institution_id, kind, scope, listing, activity_id, agent,"
    " registration, document_id, content, content_type, etag, updated)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (institution_id, scope) DO UPDATE SET content = EXCLUDED.content,"
    " content_type = EXCLUDED.content_type, etag = EXCLUDED.etag, updated = EXCLUDED.updated"
)


def _document_upsert(institution, scope: DocumentScope, sent: Sent) -> XapiDocument:
    """A State PUT without preconditions: one ``INSERT … ON CONFLICT DO UPDATE`` on the unique
    scope (parallel PUTs leave one row, the last one's). Committed like every other write:
    a 204 means the bookmark is kept, whatever happens to PostgreSQL next (content cannot tell
    a lost save from a kept one)."""
    document = _document_new(institution, scope, sent)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _UPSERT,
            [
                institution.pk,
                document.kind,
                document.scope,
                document.listing,
                document.activity_id,
                document.agent,
                document.registration,
                document.document_id,
                document.content,
                document.content_type,
                document.etag,
                connection.ops.adapt_datetimefield_value(document.updated),
            ],
        )
    return document


def _document_replace_if_match(
    institution, scope: DocumentScope, sent: Sent, if_match: str
) -> XapiDocument:
    """A PUT with ``If-Match`` only: one ``UPDATE … WHERE etag IN (…)``; no row, 412. Of two
    parallel PUTs with the same ETag, the second finds the first's new ETag."""
    document = _document_new(institution, scope, sent)
    tags = _tags(if_match)
    rows = XapiDocument.objects.filter(institution=institution, scope=document.scope)
    if "*" not in tags:
        rows = rows.filter(etag__in=tags)
    changed = rows.update(
        content=document.content,
        content_type=document.content_type,
        etag=document.etag,
        updated=document.updated,
    )
    if not changed:
        refuse("If-Match: the document has changed or does not exist.", status=412)
    return document


def _document_write(institution, scope: DocumentScope, pre: Preconditions, content_of):
    for _attempt in range(2):
        try:
            with transaction.atomic():
                existing = (
                    XapiDocument.objects.select_for_update()
                    .filter(institution=institution, scope=scope.scope())
                    .first()
                )
                _preconditions_check(existing, pre)
                sent = content_of(existing)
                return _document_save(institution, scope, existing, sent)
        except IntegrityError:
            continue  # created by a parallel request a moment ago: now it is there to lock
    refuse("The document changed while it was written; send the request again.", status=409)


def _document_save(institution, scope: DocumentScope, existing, sent: Sent) -> XapiDocument:
    if existing is None:
        document = _document_new(institution, scope, sent)
        document.save(force_insert=True)
        return document
    existing.content = sent.content
    existing.content_type = (sent.content_type or "application/octet-stream")[:255]
    existing.etag = etag_of(sent.content)
    existing.updated = timezone.now()
    existing.save(update_fields=["content", "content_type", "etag", "updated"])
    return existing


def document_delete(*, institution: Institution, scope: DocumentScope, pre: Preconditions) -> None:
    """Delete the document (with ``If-Match`` honoured), or, for State without a stateId,
    every document listed under ``scope``."""
    with transaction.atomic():
        if not scope.document_id:
            scope.listed(institution).delete()
            return
        existing = (
            XapiDocument.objects.select_for_update()
            .filter(institution=institution, scope=scope.scope())
            .first()
        )
        if pre.if_match is not None:
            _preconditions_check(existing, Preconditions(if_match=pre.if_match))
        if existing is not None:
            existing.delete()


# --- Activities and Agents --------------------------------------------------------------------


def activity_object(*, institution: Institution, activity_id: str) -> dict:
    """The Activity with the definition the institution's statements give it, merged:
    language maps join their languages, other properties take the newest statement's."""
    statement_ids = XapiStatementKey.objects.filter(
        institution=institution, kind="activity", key=activity_id[:600]
    ).values("statement_id")
    raws = (
        XapiStatement.objects.filter(institution=institution, pk__in=statement_ids)
        .order_by("-pk")
        .values_list("raw", flat=True)[:ACTIVITY_STATEMENTS]
    )
    definition: dict = {}
    for raw in reversed(list(raws)):
        for activity in _activities_in(raw):
            if activity.get("id") == activity_id and isinstance(activity.get("definition"), dict):
                _definition_merge(definition, activity["definition"])
    activity = {"objectType": "Activity", "id": activity_id}
    if definition:
        activity["definition"] = definition
    return activity


def _activities_in(statement: dict):
    target = statement.get("object")
    if isinstance(target, dict):
        if target.get("objectType", "Activity") == "Activity":
            yield target
        elif target.get("objectType") == "SubStatement":
            yield from _activities_in(target)
    context = statement.get("context")
    if isinstance(context, dict) and isinstance(context.get("contextActivities"), dict):
        for items in context["contextActivities"].values():
            for item in items if isinstance(items, list) else [items]:
                if isinstance(item, dict):
                    yield item


def _definition_merge(into: dict, definition: dict) -> None:
    for key, value in definition.items():
        if key in ("name", "description") and isinstance(value, dict):
            into[key] = {**into.get(key, {}), **value}
        else:
            into[key] = value


def person_object(agent: dict) -> dict:
    """The Person the LRS knows for an Agent: its names and identifiers, each a list
    (Communication 2.4). The LRS joins no identities, so the Person is the Agent's own."""
    person: dict = {"objectType": "Person"}
    if isinstance(agent.get("name"), str):
        person["name"] = [agent["name"]]
    for key in ("mbox", "mbox_sha1sum", "openid", "account"):
        if key in agent:
            person[key] = [agent[key]]
    return person
