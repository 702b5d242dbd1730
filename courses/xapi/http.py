"""What every xAPI resource does over HTTP: authentication, version and CORS headers, errors,
HEAD, the request body, and the Alternate Request Syntax (Communication 1.3).

Authentication is HTTP Basic with one of the institution's API keys: the key is the username
(any password, or none), or — for clients that insist on a fixed username — the password.
Browser content launched from another origin (cmi5, xAPI packages) reaches the LRS through
CORS: a preflight ``OPTIONS`` is answered without a key, and every answer names the headers a
page may send and read.
"""

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.http.request import HttpHeaders
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from courses.xapi.common import XAPI_VERSION, XapiError
from courses.xapi.storage import max_body_bytes
from courses.xapi.validation import version_check
from lms import json_input
from lms import services as lms_services
from lms.models import ApiKey

ALLOWED_HEADERS = (
    "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match, "
    "Accept-Language"
)
EXPOSED_HEADERS = (
    "ETag, Last-Modified, X-Experience-API-Version, X-Experience-API-Consistent-Through"
)
#: The form fields of the Alternate Request Syntax that stand for headers, by their META name.
FORM_HEADERS = {
    "authorization": "HTTP_AUTHORIZATION",
    "x-experience-api-version": "HTTP_X_EXPERIENCE_API_VERSION",
    "content-type": "CONTENT_TYPE",
    "content-length": "CONTENT_LENGTH",
    "if-match": "HTTP_IF_MATCH",
    "if-none-match": "HTTP_IF_NONE_MATCH",
}
ALTERNATE_METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")


def respond(response: HttpResponse) -> HttpResponse:
    """The headers of every answer: the xAPI version and CORS."""
    response["X-Experience-API-Version"] = XAPI_VERSION
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def error(message: str, status: int = 400) -> HttpResponse:
    response = respond(JsonResponse({"error": message}, status=status))
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="xAPI"'
    return response


def not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    response = error(f"Method {request.method} is not allowed here.", 405)
    response["Allow"] = allowed
    return response


def headers_only(request: HttpRequest, response: HttpResponse) -> HttpResponse:
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


def api_key_of(request: HttpRequest) -> ApiKey | None:
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


def query_check(request: HttpRequest) -> None:
    """Refuse a NUL character in any query parameter: no filter of ours could hold it."""
    for name, values in request.GET.lists():
        for value in (name, *values):
            try:
                json_input.text_check(value)
            except json_input.JsonInputError as problem:
                raise XapiError(f"{name!r}: {problem.msg}") from None


def body_bytes(request: HttpRequest) -> bytes:
    """The request body (the ``content`` form field under the Alternate Request Syntax),
    refused with 413 beyond the LRS's limit before more is read."""
    limit = max_body_bytes()
    too_big = XapiError(
        f"The request body is larger than this LRS takes ({limit} bytes at most).", status=413
    )
    content = getattr(request, "xapi_content", None)
    if content is not None:
        if len(content) > limit:
            raise too_big
        return content
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise XapiError("Content-Length: must be a whole number.") from None
    if declared > limit:
        raise too_big
    body = request.read(limit + 1)
    if len(body) > limit:
        raise too_big
    return body


def content_type_of(request: HttpRequest) -> str:
    """The media type of the body, without its parameters, lower-case ("" when none)."""
    return request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()


def _alternate_request(request: HttpRequest) -> None:
    """Turn a POST in the Alternate Request Syntax into the request it stands for.

    The query string holds only ``method``; the form holds the headers of
    :data:`FORM_HEADERS`, the resource's parameters, and ``content``, the body
    (Communication 1.3). Anything else is refused (400)."""
    method = request.GET["method"].upper()
    if request.method != "POST":
        raise XapiError("The alternate request syntax (?method=) is sent as POST.")
    if set(request.GET) != {"method"}:
        raise XapiError(
            "With the alternate request syntax, the query string holds only 'method'; "
            "send the parameters as form fields."
        )
    if method not in ALTERNATE_METHODS:
        raise XapiError(f"method: '{request.GET['method']}' is not GET, PUT, POST or DELETE.")
    if content_type_of(request) != "application/x-www-form-urlencoded":
        raise XapiError(
            "The alternate request syntax sends its form as application/x-www-form-urlencoded."
        )
    try:
        fields = parse_qsl(
            body_bytes(request).decode(), keep_blank_values=True, strict_parsing=False
        )
    except UnicodeDecodeError:
        raise XapiError("The form is not UTF-8.") from None
    params = QueryDict(mutable=True)
    content = None
    meta = request.META
    meta.pop("CONTENT_TYPE", None)
    meta.pop("CONTENT_LENGTH", None)
    for name, value in fields:
        if name.lower() in FORM_HEADERS:
            meta[FORM_HEADERS[name.lower()]] = value
        elif name == "content":
            content = value.encode()
        else:
            params.appendlist(name, value)
    if method in ("PUT", "POST") and content is None:
        raise XapiError("The alternate request syntax sends the content as the form's 'content'.")
    request.method = method
    request.GET = params
    request.xapi_content = content or b""
    request.headers = HttpHeaders(meta)


def xapi_view(allowed: str) -> Callable:
    """Decorate an xAPI resource view: CORS preflight, the Alternate Request Syntax, the
    version header, API-key authentication, HEAD, and refusals (``XapiError``) as answers.

    The view is called as ``view(request, api_key)`` with the request as the syntax stands for.
    """

    def decorate(view: Callable) -> Callable:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "OPTIONS":
                return _preflight(allowed)
            try:
                if "method" in request.GET:
                    _alternate_request(request)
            except XapiError as problem:
                return error(str(problem), problem.status)
            if request.method not in allowed.split(", "):
                return not_allowed(request, allowed)
            api_key = api_key_of(request)
            if api_key is None:
                return error("Give an institution's API key with HTTP Basic authentication.", 401)
            try:
                version_check(request.headers.get("X-Experience-API-Version"))
                query_check(request)
                response = view(request, api_key, *args, **kwargs)
            except XapiError as problem:
                response = error(str(problem), problem.status)
            return headers_only(request, response)

        return wrapped

    return decorate


def _preflight(allowed: str) -> HttpResponse:
    response = respond(HttpResponse(status=204))
    response["Access-Control-Allow-Methods"] = f"{allowed}, OPTIONS"
    response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response["Access-Control-Max-Age"] = "86400"
    patch_vary_headers(response, ["Origin"])
    return response
