"""What every JSON API of the project shares: one error shape, checked input, honest docs.

:class:`ProjectAPI` is django-ninja's ``NinjaAPI`` with, built in:

- **One error shape** (:class:`ErrorOut`) for every refusal: ``detail`` (one sentence for a
  person), ``errors`` (each problem as ``"where: what"``, as the learner and import
  endpoints always gave them) and ``fields`` (each problem as ``{"loc": [...], "msg": ...}``
  for programs). ``loc`` starts with the part of the request (``path``, ``query``,
  ``header``, ``body``, ``form``, ``file``) and goes on with the names and list positions
  that lead to the value, as in the document sent: ``["body", "events", 3, "learner"]``.
- **One status per kind of problem** (docs/decisions/0016): 400 for any request that cannot
  be taken as sent (not JSON, a value of the wrong type or out of range, a NUL character,
  nesting too deep), 401 without valid credentials, 403 when they do not allow it (or a
  session's CSRF token is missing), 404 for what the caller cannot see, 409 for a clash
  with what exists, 413 for a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE``, 429 past a
  rate (with ``Retry-After``). Never 422, and never a 500 for anything a client can send.
- **Checked input**: JSON bodies go through :func:`lms.json_input.loads` (no nesting past
  64 levels, no NUL or lone surrogate in any string); query and form values and path
  parameters are refused with a NUL character. PostgreSQL cannot store either, and a
  deeply nested body would otherwise crash the decoder.
- **Honest docs**: :meth:`ProjectAPI.get_openapi_schema` adds to every operation the
  statuses the shared handlers can answer it with (see :func:`shared_statuses`), and says
  in every string's schema that it cannot hold a NUL character.

Body parameters are named ``payload`` in every operation: ninja puts that name second in a
validation error's location, and it is not part of what the client sent, so it is left out.
"""

from collections.abc import Iterable
from functools import wraps
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.parser import Parser
from pydantic import Field

from lms import json_input
from lms.json_input import JsonInputError, Location

#: The name every operation gives its JSON body parameter (see the module's docstring).
BODY_PARAMETER = "payload"
#: The most problems spelled out in ``detail`` (all are in ``errors`` and ``fields``).
DETAIL_PROBLEMS = 3
#: Said of every string parameter and property in the OpenAPI schema.
NO_NUL_PATTERN = "^[^\\u0000]*$"
COMPONENT_PREFIX = "#/components/schemas/"
ERROR_OUT_REF = COMPONENT_PREFIX + "ErrorOut"
#: Any JSON value the API can take (no NUL in any string or key), for inputs of any shape:
#: put ``JSON_VALUE`` in a schema (pydantic cannot refer to a component it did not make),
#: and the OpenAPI document has a reference to the ``JsonValue`` component in its place.
JSON_VALUE = {"x-json-value": True}
JSON_VALUE_REF = COMPONENT_PREFIX + "JsonValue"
JSON_VALUE_SCHEMA = {
    "description": "Any JSON value; no string, and no key, may hold a NUL character.",
    "anyOf": [
        {"type": "string", "pattern": NO_NUL_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": JSON_VALUE_REF}},
        {
            "type": "object",
            "propertyNames": {"pattern": NO_NUL_PATTERN},
            "additionalProperties": {"$ref": JSON_VALUE_REF},
        },
    ],
}


class FieldErrorOut(Schema):
    loc: list[str | int] = Field(
        description="Where: the part of the request (path, query, header, body, form, "
        "file), then the names and list positions leading to the value."
    )
    msg: str = Field(description="What is wrong with it.")


class ErrorOut(Schema):
    """Every refusal of the API: 400, 401, 403, 404, 409, 413, 429."""

    detail: str = Field(description="What went wrong, in a sentence.")
    errors: list[str] = Field(
        default_factory=list, description="Each problem as 'where: what', for people."
    )
    fields: list[FieldErrorOut] = Field(
        default_factory=list, description="Each problem with its location, for programs."
    )


def where(loc: Location) -> str:
    """The place a person reads: ``["body", "events", 3, "learner"]`` → ``events[3].learner``."""
    return json_input.path_text(loc[1:]) or (str(loc[0]) if loc else "")


def error_body(
    detail: str, fields: Iterable[tuple[Location, str]] = (), *, errors: list[str] | None = None
) -> dict:
    """An :class:`ErrorOut` as a dict. ``errors`` defaults to ``fields`` written for people."""
    fields = [(tuple(loc), msg) for loc, msg in fields]
    if errors is None:
        errors = [f"{where(loc)}: {msg}" if loc else msg for loc, msg in fields]
    return {
        "detail": detail,
        "errors": errors,
        "fields": [{"loc": list(loc), "msg": msg} for loc, msg in fields],
    }


def refusal_detail(errors: list[str]) -> str:
    """``detail`` for a request refused for the ``errors`` listed."""
    shown = "; ".join(errors[:DETAIL_PROBLEMS])
    more = len(errors) - DETAIL_PROBLEMS
    if more > 0:
        shown += " " + _("(and %(count)d more)") % {"count": more}
    return _("The request was not accepted: %(problems)s") % {"problems": shown}


def refusal_body(fields: Iterable[tuple[Location, str]]) -> dict:
    """An :class:`ErrorOut` for a request refused for ``fields``, its detail summing them up."""
    body = error_body("", fields)
    body["detail"] = refusal_detail(body["errors"])
    return body


class InputParser(Parser):
    """ninja's parser, reading JSON through :func:`lms.json_input.loads` and refusing NUL in
    query and form values (and their names)."""

    def parse_body(self, request: HttpRequest) -> Any:
        # ninja turns any exception here into HttpError(400) raised from it: the handler
        # below finds the JsonInputError again as its __cause__.
        return json_input.loads(request.body)

    def parse_querydict(self, data, list_fields, request: HttpRequest) -> dict:
        source = "query" if data is request.GET else "form"
        for key, values in data.lists():
            json_input.text_check(key, (source,), whose="a parameter name")
            for value in values:
                if isinstance(value, str):
                    json_input.text_check(value, (source, key))
        return super().parse_querydict(data, list_fields, request)


class ProjectAPI(NinjaAPI):
    """A NinjaAPI with the project's error shape, input checks and documented statuses."""

    def __init__(self, **kwargs):
        kwargs.setdefault("parser", InputParser())
        super().__init__(**kwargs)
        self.add_exception_handler(ValidationError, self._validation_error)
        self.add_exception_handler(HttpError, self._http_error)
        self.add_exception_handler(JsonInputError, self._input_error)
        self.add_exception_handler(Http404, self._not_found)
        self.add_exception_handler(RequestDataTooBig, self._too_big)
        self.add_exception_handler(SuspiciousOperation, self._suspicious)
        self.add_decorator(self._path_checked, mode="view")

    # --- errors -------------------------------------------------------------------------

    def error(self, request: HttpRequest, status: int, body: dict) -> HttpResponse:
        return self.create_response(request, body, status=status)

    def _validation_error(self, request: HttpRequest, exc: ValidationError) -> HttpResponse:
        fields = [(_client_loc(error["loc"]), error["msg"]) for error in exc.errors]
        return self.error(request, HTTPStatus.BAD_REQUEST, refusal_body(fields))

    def _input_error(self, request: HttpRequest, exc: JsonInputError) -> HttpResponse:
        # Raised with its source as the first element of loc (query, form, path).
        return self.error(request, HTTPStatus.BAD_REQUEST, refusal_body([(exc.loc, exc.msg)]))

    def _http_error(self, request: HttpRequest, exc: HttpError) -> HttpResponse:
        refused = exc.__cause__
        if isinstance(refused, JsonInputError):  # the body, refused by InputParser
            body = refusal_body([(("body", *refused.loc), refused.msg)])
            return self.error(request, HTTPStatus.BAD_REQUEST, body)
        if isinstance(exc, AuthenticationError):
            response = self.error(
                request,
                exc.status_code,
                error_body(
                    _(
                        "Give an institution's API key (Authorization: Bearer … or "
                        "X-API-Key), or log in."
                    )
                ),
            )
            response["WWW-Authenticate"] = "Bearer"
            return response
        response = self.error(request, exc.status_code, error_body(str(exc)))
        if isinstance(exc, Throttled) and exc.wait:
            response["Retry-After"] = str(int(exc.wait))
        return response

    def _not_found(self, request: HttpRequest, exc: Http404) -> HttpResponse:
        return self.error(request, HTTPStatus.NOT_FOUND, error_body(str(exc) or _("Not found.")))

    def _too_big(self, request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        message = _("is larger than this API takes (%(limit)s bytes at most).") % {
            "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        }
        body = refusal_body([(("body",), message)])
        return self.error(request, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, body)

    def _suspicious(self, request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        # Too many form fields or files (DATA_UPLOAD_MAX_NUMBER_FIELDS, …): Django's message.
        return self.error(request, HTTPStatus.BAD_REQUEST, error_body(str(exc)))

    def _path_checked(self, run):
        """Refuse a NUL character in a path parameter before the operation runs."""

        @wraps(run)
        def checked(request: HttpRequest, *args, **kwargs):
            for name, value in kwargs.items():
                if isinstance(value, str):
                    try:
                        json_input.text_check(value, ("path", name))
                    except JsonInputError as error:
                        return self._input_error(request, error)
            return run(request, *args, **kwargs)

        return checked

    # --- the schema ---------------------------------------------------------------------

    def get_openapi_schema(self, *args, **kwargs):
        schema = super().get_openapi_schema(*args, **kwargs)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template=COMPONENT_PREFIX + "{model}")
        components.update(error_schema.pop("$defs", {}))
        components.setdefault("ErrorOut", error_schema)
        components.setdefault("JsonValue", JSON_VALUE_SCHEMA)
        _json_values_referenced(schema)
        for operations in schema["paths"].values():
            for method, operation in operations.items():
                _document_operation(method, operation, components)
        return schema


def _document_operation(method: str, operation: dict, components: dict) -> None:
    """Add the shared statuses the operation lacks, and say no input string holds NUL."""
    responses = operation.setdefault("responses", {})
    for status in shared_statuses(method, operation):
        if status not in responses and str(status) not in responses:
            responses[status] = {
                "description": HTTPStatus(status).phrase,
                "content": {"application/json": {"schema": {"$ref": ERROR_OUT_REF}}},
            }
    inputs = [parameter.get("schema", {}) for parameter in operation.get("parameters", ())]
    inputs += [
        content.get("schema", {})
        for content in operation.get("requestBody", {}).get("content", {}).values()
    ]
    _no_nul(inputs, components)


def shared_statuses(method: str, operation: dict) -> list[int]:
    """The statuses the shared handlers can answer ``operation`` with, from its shape.

    400: it takes parameters or a body (validation, NUL). 401: it needs credentials. 403: a
    session may call it with an unsafe method (CSRF). 404: it has path parameters. 413: it
    takes a body. Statuses of an operation's own logic (403 for a role, 409, 429) are
    declared with the operation.
    """
    statuses = []
    has_body = "requestBody" in operation
    if operation.get("parameters") or has_body:
        statuses.append(HTTPStatus.BAD_REQUEST)
    security = operation.get("security") or []
    if security:
        statuses.append(HTTPStatus.UNAUTHORIZED)
        sessions = any("SessionAuth" in requirement for requirement in security)
        if sessions and method.upper() not in ("GET", "HEAD", "OPTIONS"):
            statuses.append(HTTPStatus.FORBIDDEN)
    if any(parameter.get("in") == "path" for parameter in operation.get("parameters", ())):
        statuses.append(HTTPStatus.NOT_FOUND)
    if has_body:
        statuses.append(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    return [int(status) for status in statuses]


def _json_values_referenced(schema: dict) -> None:
    """Put a reference to the JsonValue component wherever a schema says ``JSON_VALUE``."""
    stack = [schema]
    while stack:
        node = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict) and child.get("x-json-value") is True:
                child.clear()
                child["$ref"] = JSON_VALUE_REF
            elif isinstance(child, dict | list):
                stack.append(child)


def _client_loc(loc: Iterable) -> Location:
    """ninja's location without the body parameter's name (not part of what was sent)."""
    loc = tuple(loc)
    if len(loc) > 1 and loc[0] == "body" and loc[1] == BODY_PARAMETER:
        return ("body", *loc[2:])
    return loc


def _no_nul(schemas: list, components: dict) -> None:
    """Say of every free-form string in ``schemas`` (and in the components they refer to)
    that it cannot hold a NUL character. Only what the API reads: its answers never do."""
    stack, seen = list(schemas), set()
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        reference = node.get("$ref", "")
        if reference.startswith(COMPONENT_PREFIX) and reference not in seen:
            seen.add(reference)
            stack.append(components.get(reference.removeprefix(COMPONENT_PREFIX), {}))
        is_string = node.get("type") == "string"
        if is_string and not ({"pattern", "format", "enum", "const"} & set(node)):
            node["pattern"] = NO_NUL_PATTERN
        stack.extend(value for value in node.values() if isinstance(value, dict | list))
