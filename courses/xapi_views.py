"""The xAPI 1.0.3 Statement Resource and About Resource, for other LMSs.

Plain Django views (xAPI is not shaped like our JSON API), through
:func:`courses.xapi.http.xapi_view` (authentication, CORS, the Alternate Request Syntax).
The document resources are :mod:`courses.xapi.document_views`. See docs/decisions/0005-xapi.md.
"""

import json
import secrets
from functools import partial

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from courses import xapi_multipart
from courses.models import XapiStatement
from courses.xapi import formats, queries, storage, validation
from courses.xapi.common import XAPI_VERSION, XapiError, json_parse
from courses.xapi.http import (
    body_bytes,
    content_type_of,
    headers_only,
    respond,
    xapi_view,
)
from lms.models import ApiKey

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


@csrf_exempt
def about(request: HttpRequest) -> HttpResponse:
    """The About Resource: open to anyone (Communication 2.8), GET and HEAD only."""
    if request.method == "OPTIONS":
        response = respond(HttpResponse(status=204))
        response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        return response
    if request.method not in ("GET", "HEAD"):
        response = respond(JsonResponse({"error": "GET only."}, status=405))
        response["Allow"] = "GET, HEAD"
        return response
    return headers_only(request, respond(JsonResponse({"version": [XAPI_VERSION]})))


@csrf_exempt
def statements(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    response = _statements(request, *args, **kwargs)
    if request.method in ("GET", "HEAD"):
        # On every answer to a GET, refusals too (Communication 2.1.3.s2.b5).
        response["X-Experience-API-Consistent-Through"] = timezone.now().isoformat()
    return response


@xapi_view("GET, HEAD, POST, PUT")
def _statements(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        return _get(request, api_key)
    if request.method == "POST":
        return _post(request, api_key)
    return _put(request, api_key)


def _body(request: HttpRequest) -> tuple:
    """The statement(s) sent, parsed, and the attachment parts sent with them, by hash."""
    content_type = content_type_of(request) or (
        "application/json" if getattr(request, "xapi_content", None) is not None else ""
    )
    if content_type not in ("application/json", "multipart/mixed"):
        raise XapiError(
            "Send statements as application/json, or as multipart/mixed with their "
            "attachments' content."
        )
    raw = body_bytes(request)
    if content_type == "multipart/mixed":
        return xapi_multipart.statements_parse(raw, content_type=request.META["CONTENT_TYPE"])
    return json_parse(raw or b"null", "The body"), {}


def _post(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    body, parts = _body(request)
    items = body if isinstance(body, list) else [body]
    valid = []
    for index, item in enumerate(items):
        try:
            valid.append(validation.statement_validate(item))
        except XapiError as problem:
            where = f"statement {index}: " if isinstance(body, list) else ""
            raise XapiError(f"{where}{problem}", status=problem.status) from None
    outcomes = storage.statements_store(api_key=api_key, statements=valid, parts=parts)
    response = respond(
        JsonResponse([str(outcome.statement.statement_id) for outcome in outcomes], safe=False)
    )
    response["X-SSW-Progress"] = _progress_header(outcomes)
    return response


def _put(request: HttpRequest, api_key: ApiKey) -> HttpResponse:
    if "statementId" not in request.GET:
        raise XapiError("statementId: required as a query parameter with PUT.")
    extra = set(request.GET) - {"statementId"}
    if extra:
        raise XapiError(f"PUT takes only statementId: not {', '.join(sorted(extra))}.")
    statement_id = validation.parse_uuid(request.GET["statementId"], "statementId")
    body, parts = _body(request)
    if isinstance(body, list):
        raise XapiError("PUT takes one statement, not a list.")
    valid = validation.statement_validate(body, statement_id=statement_id)
    outcomes = storage.statements_store(api_key=api_key, statements=[valid], parts=parts)
    response = respond(HttpResponse(status=204))
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
        raise XapiError(f"Unknown query parameters: {', '.join(sorted(unknown))}.")
    statement_format = params.get("format", "exact")
    if statement_format not in formats.FORMATS:
        raise XapiError(f"format: '{statement_format}' is not ids, exact or canonical.")
    render = partial(
        formats.statement_json,
        format=statement_format,
        languages=formats.accept_languages(request.headers.get("Accept-Language", "")),
    )
    with_attachments = queries.bool_param(params, "attachments")
    own = XapiStatement.objects.filter(institution=api_key.institution)
    single = [name for name in ("statementId", "voidedStatementId") if name in params]
    if single:
        allowed = {"statementId", "voidedStatementId", "format", "attachments"}
        if len(single) > 1 or set(params) - allowed:
            raise XapiError(
                f"{single[0]}: cannot be combined with other filters or with each other."
            )
        name = single[0]
        statement_id = validation.parse_uuid(params[name], name)
        stored = own.filter(statement_id=statement_id, voided=name == "voidedStatementId").first()
        if stored is None:
            raise XapiError(f"{name}: no such statement.", status=404)
        statement = render(stored)
        response = _statements_response(
            statement, [statement], api_key=api_key, with_attachments=with_attachments
        )
        response["Last-Modified"] = stored.stored.strftime("%a, %d %b %Y %H:%M:%S GMT")
    else:
        result = queries.statements_page(
            params, own, institution=api_key.institution, path=request.path, render=render
        )
        response = _statements_response(
            result, result["statements"], api_key=api_key, with_attachments=with_attachments
        )
    if statement_format == "canonical":
        patch_vary_headers(response, ["Accept-Language"])
    return response


def _statements_response(
    document: dict, statements: list[dict], *, api_key: ApiKey, with_attachments: bool
) -> HttpResponse:
    """JSON, or with ``attachments=true`` multipart/mixed with the attachments' content."""
    if not with_attachments:
        return respond(JsonResponse(document))
    boundary = secrets.token_hex(16)
    attachments = formats.statement_attachments(
        institution=api_key.institution, statements=statements
    )
    encoded = json.dumps(document, cls=DjangoJSONEncoder).encode()
    return respond(
        StreamingHttpResponse(
            xapi_multipart.statements_response(encoded, attachments, boundary=boundary),
            content_type=f"multipart/mixed; boundary={boundary}",
        )
    )
