"""The xAPI document resources and the Activities and Agents resources (Communication 2.3–2.7).

Thin views over :mod:`courses.xapi.documents`, through :func:`courses.xapi.http.xapi_view`
(authentication, CORS, the Alternate Request Syntax, HEAD, refusals as answers).
"""

from django.http import HttpRequest, HttpResponse, JsonResponse

from courses.models import XapiDocumentKind
from courses.xapi import documents
from courses.xapi.common import XapiError, json_parse
from courses.xapi.documents import DocumentScope, Preconditions, Sent
from courses.xapi.http import body_bytes, respond, xapi_view
from courses.xapi.validation import iri_check, parse_timestamp, parse_uuid, validate_agent
from lms.models import ApiKey

DOCUMENT_METHODS = "GET, HEAD, PUT, POST, DELETE"


def _required(request: HttpRequest, name: str) -> str:
    value = request.GET.get(name)
    if value is None:
        raise XapiError(f"{name}: required as a query parameter.")
    return value


def _agent_key(request: HttpRequest) -> str:
    """The ``agent`` parameter: an Agent (JSON) by its inverse functional identifier."""
    agent = json_parse(_required(request, "agent"), "agent")
    if not isinstance(agent, dict) or agent.get("objectType", "Agent") != "Agent":
        raise XapiError("agent: must be an Agent object (JSON).")
    return validate_agent(agent, "agent")


def _activity(request: HttpRequest) -> str:
    return iri_check(_required(request, "activityId"), "activityId")


def _preconditions(request: HttpRequest) -> Preconditions:
    return Preconditions(
        if_match=request.headers.get("If-Match"),
        if_none_match=request.headers.get("If-None-Match"),
    )


def _sent(request: HttpRequest) -> Sent:
    return Sent(
        content=body_bytes(request),
        content_type=request.META.get("CONTENT_TYPE", "") or "application/octet-stream",
    )


def _document_response(document) -> HttpResponse:
    response = respond(HttpResponse(bytes(document.content), content_type=document.content_type))
    response["ETag"] = f'"{document.etag}"'
    response["Last-Modified"] = document.updated.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response


def _written(document) -> HttpResponse:
    response = respond(HttpResponse(status=204))
    response["ETag"] = f'"{document.etag}"'
    return response


def _document_resource(request: HttpRequest, api_key: ApiKey, scope: DocumentScope, id_name):
    """GET (one, or the ids), PUT, POST and DELETE of one resource's documents."""
    institution = api_key.institution
    if request.method in ("GET", "HEAD"):
        if scope.document_id:
            document = documents.document_get(institution=institution, scope=scope)
            if document is None:
                raise XapiError(f"{id_name}: no such document.", status=404)
            return _document_response(document)
        since = request.GET.get("since")
        ids = documents.document_ids(
            institution=institution,
            scope=scope,
            since=parse_timestamp(since, "since") if since is not None else None,
        )
        return respond(JsonResponse(ids, safe=False))
    if request.method == "DELETE":
        if not scope.document_id and scope.kind != XapiDocumentKind.STATE:
            raise XapiError(f"{id_name}: required as a query parameter.")
        documents.document_delete(institution=institution, scope=scope, pre=_preconditions(request))
        return respond(HttpResponse(status=204))
    if not scope.document_id:
        raise XapiError(f"{id_name}: required as a query parameter.")
    write = documents.document_put if request.method == "PUT" else documents.document_post
    document = write(
        institution=institution, scope=scope, sent=_sent(request), pre=_preconditions(request)
    )
    return _written(document)


def _registration(request: HttpRequest) -> str:
    value = request.GET.get("registration")
    return str(parse_uuid(value, "registration")) if value is not None else ""


@xapi_view(DOCUMENT_METHODS)
def state(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """The State Resource: documents by activity, agent, registration and stateId."""
    scope = DocumentScope(
        kind=XapiDocumentKind.STATE,
        activity_id=_activity(request),
        agent=_agent_key(request),
        registration=_registration(request),
        document_id=request.GET.get("stateId", ""),
    )
    return _document_resource(request, api_key, scope, "stateId")


@xapi_view(DOCUMENT_METHODS)
def activity_profile(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """The Activity Profile Resource: documents by activity and profileId."""
    scope = DocumentScope(
        kind=XapiDocumentKind.ACTIVITY_PROFILE,
        activity_id=_activity(request),
        document_id=request.GET.get("profileId", ""),
    )
    return _document_resource(request, api_key, scope, "profileId")


@xapi_view(DOCUMENT_METHODS)
def agent_profile(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """The Agent Profile Resource: documents by agent and profileId."""
    scope = DocumentScope(
        kind=XapiDocumentKind.AGENT_PROFILE,
        agent=_agent_key(request),
        document_id=request.GET.get("profileId", ""),
    )
    return _document_resource(request, api_key, scope, "profileId")


@xapi_view("GET, HEAD")
def activities(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """The Activities Resource: the Activity with the definition the statements give it."""
    activity = documents.activity_object(
        institution=api_key.institution, activity_id=_activity(request)
    )
    return respond(JsonResponse(activity))


@xapi_view("GET, HEAD")
def agents(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    """The Agents Resource: the Person object of an Agent."""
    agent = json_parse(_required(request, "agent"), "agent")
    if not isinstance(agent, dict) or agent.get("objectType", "Agent") != "Agent":
        raise XapiError("agent: must be an Agent object (JSON).")
    validate_agent(agent, "agent")
    return respond(JsonResponse(documents.person_object(agent)))
