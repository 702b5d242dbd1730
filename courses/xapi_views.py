"""The xAPI 1.0.3 Statement Resource and About Resource, for other LMSs.

Plain Django views (xAPI is not shaped like our JSON API). Authentication is HTTP Basic with
one of the institution's API keys: the key is the username (any password, or none), or —
for clients that insist on a fixed username — the password. See docs/decisions/0005-xapi.md.
"""

import base64
import binascii
import json
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from courses import xapi
from courses.models import XapiStatement
from lms import services as lms_services
from lms.models import ApiKey

#: Most statements one GET returns (``limit=0`` means this many too).
MAX_LIMIT = 500
QUERY_PARAMS = {
    "statementId",
    "voidedStatementId",
    "agent",
    "verb",
    "activity",
    "since",
    "until",
    "limit",
    "ascending",
    "format",
    "attachments",
    "related_activities",
    "related_agents",
    "registration",
    "cursor",
}


def _respond(response: HttpResponse) -> HttpResponse:
    response["X-Experience-API-Version"] = xapi.XAPI_VERSION
    return response


def _error(message: str, status: int = 400) -> HttpResponse:
    response = _respond(JsonResponse({"error": message}, status=status))
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="xAPI"'
    return response


@require_GET
def about(request: HttpRequest) -> HttpResponse:
    return _respond(JsonResponse({"version": [xapi.XAPI_VERSION]}))


def _api_key(request: HttpRequest) -> ApiKey | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _sep, password = decoded.partition(":")
    for candidate in (username, password):
        if candidate:
            api_key = lms_services.api_key_authenticate(key=candidate)
            if api_key is not None:
                return api_key
    return None


@csrf_exempt
def statements(request: HttpRequest) -> HttpResponse:
    api_key = _api_key(request)
    if api_key is None:
        return _error("Give an institution's API key with HTTP Basic authentication.", 401)
    try:
        xapi.version_check(request.headers.get("X-Experience-API-Version"))
        if request.method == "GET":
            return _get(request, api_key)
        if request.method == "POST":
            return _post(request, api_key)
        if request.method == "PUT":
            return _put(request, api_key)
    except xapi.XapiError as error:
        return _error(str(error), error.status)
    response = _error(f"Method {request.method} is not allowed here.", 405)
    response["Allow"] = "GET, POST, PUT"
    return response


def _body(request: HttpRequest):
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        raise xapi.XapiError("Statements with attachment content are not supported here.")
    if content_type != "application/json":
        raise xapi.XapiError("Send statements as application/json.")
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise xapi.XapiError(f"The body is not valid JSON: {error}") from None


def _post(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    body = _body(request)
    items = body if isinstance(body, list) else [body]
    valid = []
    for index, item in enumerate(items):
        try:
            valid.append(xapi.statement_validate(item))
        except xapi.XapiError as error:
            where = f"statement {index}: " if isinstance(body, list) else ""
            raise xapi.XapiError(f"{where}{error}", status=error.status) from None
    outcomes = xapi.statements_store(api_key=api_key, statements=valid)
    response = _respond(
        JsonResponse([str(outcome.statement.statement_id) for outcome in outcomes], safe=False)
    )
    response["X-SSW-Progress"] = _progress_header(outcomes)
    return response


def _put(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    if "statementId" not in request.GET:
        raise xapi.XapiError("statementId: required as a query parameter with PUT.")
    statement_id = xapi.parse_uuid(request.GET["statementId"], "statementId")
    body = _body(request)
    if isinstance(body, list):
        raise xapi.XapiError("PUT takes one statement, not a list.")
    valid = xapi.statement_validate(body, statement_id=statement_id)
    outcomes = xapi.statements_store(api_key=api_key, statements=[valid])
    response = _respond(HttpResponse(status=204))
    response["X-SSW-Progress"] = _progress_header(outcomes)
    return response


def _progress_header(outcomes) -> str:
    """What became of each statement's progress: ``id=status`` (see XapiProgressStatus)."""
    return ", ".join(
        f"{outcome.statement.statement_id}={outcome.statement.progress_status}"
        for outcome in outcomes
    )


def _get(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    params = request.GET
    unknown = set(params) - QUERY_PARAMS
    if unknown:
        raise xapi.XapiError(f"Unknown query parameters: {', '.join(sorted(unknown))}.")
    own = XapiStatement.objects.filter(institution=api_key.institution)
    single = [name for name in ("statementId", "voidedStatementId") if name in params]
    if single:
        allowed = {"statementId", "voidedStatementId", "format", "attachments"}
        if len(single) > 1 or set(params) - allowed:
            raise xapi.XapiError(
                f"{single[0]}: cannot be combined with other filters or with each other."
            )
        name = single[0]
        statement_id = xapi.parse_uuid(params[name], name)
        stored = own.filter(statement_id=statement_id, voided=name == "voidedStatementId").first()
        if stored is None:
            return _error(f"{name}: no such statement.", 404)
        response = _respond(JsonResponse(xapi.statement_json(stored)))
        response["Last-Modified"] = stored.stored.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return _consistent(response)
    return _consistent(_query(request, own))


def _consistent(response: HttpResponse) -> HttpResponse:
    response["X-Experience-API-Consistent-Through"] = timezone.now().isoformat()
    return response


def _query(request: HttpRequest, own) -> HttpResponse:
    params = request.GET
    queryset = own.filter(voided=False)
    if "agent" in params:
        try:
            agent = json.loads(params["agent"])
        except ValueError:
            raise xapi.XapiError("agent: must be a JSON Agent or Group.") from None
        key = xapi.validate_agent(agent, "agent")
        if key is None:
            raise xapi.XapiError("agent: needs an inverse functional identifier.")
        queryset = queryset.filter(actor_ifi=key)
    if "verb" in params:
        queryset = queryset.filter(verb_iri=xapi.iri_check(params["verb"], "verb"))
    if "activity" in params:
        queryset = queryset.filter(activity_iri=xapi.iri_check(params["activity"], "activity"))
    if "registration" in params:
        registration = xapi.parse_uuid(params["registration"], "registration")
        queryset = queryset.filter(raw__context__registration=str(registration))
    if "since" in params:
        queryset = queryset.filter(stored__gt=xapi.parse_timestamp(params["since"], "since"))
    if "until" in params:
        queryset = queryset.filter(stored__lte=xapi.parse_timestamp(params["until"], "until"))
    ascending = params.get("ascending", "false").lower() == "true"
    limit = _int_param(params.get("limit", "0"), "limit")
    limit = MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
    if "cursor" in params:
        cursor = _int_param(params["cursor"], "cursor")
        queryset = queryset.filter(pk__gt=cursor) if ascending else queryset.filter(pk__lt=cursor)
    # The primary key follows the order statements were stored in, and pages on it never skip
    # nor repeat a statement stored while a client is paging.
    page = list(queryset.order_by("pk" if ascending else "-pk")[: limit + 1])
    more = ""
    if len(page) > limit:
        page = page[:limit]
        query = {k: v for k, v in params.items() if k != "cursor"}
        query["cursor"] = str(page[-1].pk)
        more = f"{request.path}?{urlencode(query)}"
    return _respond(
        JsonResponse({"statements": [xapi.statement_json(s) for s in page], "more": more})
    )


def _int_param(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise xapi.XapiError(f"{name}: must be a whole number.") from None
    if number < 0:
        raise xapi.XapiError(f"{name}: must not be negative.")
    return number
