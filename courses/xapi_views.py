"""The xAPI 1.0.3 Statement Resource and About Resource, for other LMSs.

Plain Django views (xAPI is not shaped like our JSON API). Authentication is HTTP Basic with
one of the institution's API keys: the key is the username (any password, or none), or —
for clients that insist on a fixed username — the password. See docs/decisions/0005-xapi.md.
"""

import base64
import binascii
import json
import secrets
from functools import partial
from urllib.parse import urlencode

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from courses import xapi, xapi_multipart
from courses.xapi import formats, storage, validation  # noqa: F401 - loaded with the views (decision 0013)
from courses.models import XapiKeyKind, XapiStatement
from lms import json_input
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


def _headers_only(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A HEAD request is answered as GET would be, without the body (xAPI 1.0.3, 1.1)."""
    if request.method != "HEAD":
        return response
    if response.streaming:  # its length is not known without reading the attachments
        head = StreamingHttpResponse((), status=response.status_code)
        for name, value in response.items():
            head[name] = value
        return head
    response["Content-Length"] = str(len(response.content))
    response.content = b""
    return response


@require_safe
def about(request: HttpRequest) -> HttpResponse:
    return _headers_only(request, _respond(JsonResponse({"version": [xapi.XAPI_VERSION]})))


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
    return _headers_only(request, _statements(request))


def _statements(request: HttpRequest) -> HttpResponse:
    api_key = _api_key(request)
    if api_key is None:
        return _error("Give an institution's API key with HTTP Basic authentication.", 401)
    try:
        xapi.version_check(request.headers.get("X-Experience-API-Version"))
        _query_check(request)
        if request.method == "POST" and "method" in request.GET:
            raise xapi.XapiError(
                "The alternate request syntax (?method=) is not supported: send GET, PUT or "
                "POST as themselves, with headers (xAPI 2.0 dropped this syntax too)."
            )
        if request.method in ("GET", "HEAD"):
            return _get(request, api_key)
        if request.method == "POST":
            return _post(request, api_key)
        if request.method == "PUT":
            return _put(request, api_key)
    except xapi.XapiError as error:
        return _error(str(error), error.status)
    response = _error(f"Method {request.method} is not allowed here.", 405)
    response["Allow"] = "GET, HEAD, POST, PUT"
    return response


def _body(request: HttpRequest) -> tuple:
    """The statement(s) sent, parsed, and the attachment parts sent with them, by hash."""
    content_type = request.content_type or ""
    if content_type not in ("application/json", "multipart/mixed"):
        raise xapi.XapiError(
            "Send statements as application/json, or as multipart/mixed with their "
            "attachments' content."
        )
    raw = _body_bytes(request)
    if content_type == "multipart/mixed":
        return xapi_multipart.statements_parse(raw, content_type=request.META["CONTENT_TYPE"])
    return xapi.json_parse(raw or b"null", "The body"), {}


def _query_check(request: HttpRequest) -> None:
    """Refuse a NUL character in any query parameter: no filter of ours could hold it."""
    for name, values in request.GET.lists():
        for value in (name, *values):
            try:
                json_input.text_check(value)
            except json_input.JsonInputError as error:
                raise xapi.XapiError(f"{name!r}: {error.msg}") from None


def _body_bytes(request: HttpRequest) -> bytes:
    """The request body, refused with 413 beyond the LRS's limit before more is read."""
    limit = xapi.max_body_bytes()
    too_big = xapi.XapiError(
        f"The request body is larger than this LRS takes ({limit} bytes at most): send "
        "fewer statements or smaller attachments per request.",
        status=413,
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise xapi.XapiError("Content-Length: must be a whole number.") from None
    if declared > limit:
        raise too_big
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body


def _post(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    body, parts = _body(request)
    items = body if isinstance(body, list) else [body]
    valid = []
    for index, item in enumerate(items):
        try:
            valid.append(xapi.statement_validate(item))
        except xapi.XapiError as error:
            where = f"statement {index}: " if isinstance(body, list) else ""
            raise xapi.XapiError(f"{where}{error}", status=error.status) from None
    outcomes = xapi.statements_store(api_key=api_key, statements=valid, parts=parts)
    response = _respond(
        JsonResponse([str(outcome.statement.statement_id) for outcome in outcomes], safe=False)
    )
    response["X-SSW-Progress"] = _progress_header(outcomes)
    return response


def _put(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    if "statementId" not in request.GET:
        raise xapi.XapiError("statementId: required as a query parameter with PUT.")
    statement_id = xapi.parse_uuid(request.GET["statementId"], "statementId")
    body, parts = _body(request)
    if isinstance(body, list):
        raise xapi.XapiError("PUT takes one statement, not a list.")
    valid = xapi.statement_validate(body, statement_id=statement_id)
    outcomes = xapi.statements_store(api_key=api_key, statements=[valid], parts=parts)
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
    statement_format = params.get("format", "exact")
    if statement_format not in xapi.FORMATS:
        raise xapi.XapiError(f"format: '{statement_format}' is not ids, exact or canonical.")
    render = partial(
        xapi.statement_json,
        format=statement_format,
        languages=xapi.accept_languages(request.headers.get("Accept-Language", "")),
    )
    with_attachments = _bool_param(params, "attachments")
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
        statement = render(stored)
        response = _statements_response(
            statement, [statement], api_key=api_key, with_attachments=with_attachments
        )
        response["Last-Modified"] = stored.stored.strftime("%a, %d %b %Y %H:%M:%S GMT")
    else:
        result = _query(request, own, api_key=api_key, render=render)
        response = _statements_response(
            result, result["statements"], api_key=api_key, with_attachments=with_attachments
        )
    if statement_format == "canonical":
        patch_vary_headers(response, ["Accept-Language"])
    return _consistent(response)


def _statements_response(
    document: dict, statements: list[dict], *, api_key: ApiKey, with_attachments: bool
) -> HttpResponse:
    """JSON, or with ``attachments=true`` multipart/mixed with the attachments' content."""
    if not with_attachments:
        return _respond(JsonResponse(document))
    boundary = secrets.token_hex(16)
    attachments = xapi.statement_attachments(institution=api_key.institution, statements=statements)
    encoded = json.dumps(document, cls=DjangoJSONEncoder).encode()
    return _respond(
        StreamingHttpResponse(
            xapi_multipart.statements_response(encoded, attachments, boundary=boundary),
            content_type=f"multipart/mixed; boundary={boundary}",
        )
    )


def _consistent(response: HttpResponse) -> HttpResponse:
    response["X-Experience-API-Consistent-Through"] = timezone.now().isoformat()
    return response


def _query(request: HttpRequest, own, *, api_key: ApiKey, render) -> dict:
    """The StatementResult of a query: a page of statements and the URL of the next."""
    params = request.GET
    institution = api_key.institution
    queryset = own.filter(voided=False)
    if "agent" in params:
        agent = xapi.json_parse(params["agent"], "agent")
        key = xapi.validate_agent(agent, "agent")
        if key is None:
            raise xapi.XapiError("agent: needs an inverse functional identifier.")
        queryset = xapi.statements_about(
            queryset,
            institution=institution,
            kind=XapiKeyKind.AGENT,
            key=key,
            related=_bool_param(params, "related_agents"),
        )
    if "verb" in params:
        queryset = queryset.filter(verb_iri=xapi.iri_check(params["verb"], "verb"))
    if "activity" in params:
        activity = xapi.iri_check(params["activity"], "activity")
        if _bool_param(params, "related_activities"):
            queryset = xapi.statements_about(
                queryset,
                institution=institution,
                kind=XapiKeyKind.ACTIVITY,
                key=activity,
                related=True,
            )
        else:
            queryset = queryset.filter(activity_iri=activity)
    if "registration" in params:
        registration = xapi.parse_uuid(params["registration"], "registration")
        queryset = queryset.filter(raw__context__registration=str(registration))
    if "since" in params:
        queryset = queryset.filter(stored__gt=xapi.parse_timestamp(params["since"], "since"))
    if "until" in params:
        queryset = queryset.filter(stored__lte=xapi.parse_timestamp(params["until"], "until"))
    for name in ("related_agents", "related_activities"):
        _bool_param(params, name)  # checked even where it has nothing to widen
    ascending = _bool_param(params, "ascending")
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
    return {"statements": [render(stored) for stored in page], "more": more}


def _bool_param(params, name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise xapi.XapiError(f"{name}: must be true or false, not '{params[name]}'.")
    return value == "true"


def _int_param(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise xapi.XapiError(f"{name}: must be a whole number.") from None
    if number < 0:
        raise xapi.XapiError(f"{name}: must not be negative.")
    return number
