"""Refuse requests that carry text no database column can hold, before any view reads them.

PostgreSQL refuses a NUL character in text, so a NUL that reaches a query is a server error,
not an answer. Forms refuse it field by field (Django's ``CharField`` does), and the JSON APIs
refuse it naming the parameter (:mod:`lms.api_common`, the xAPI views); what is left is what
any page may read without a form: the session and CSRF cookies, the path and the query string
(a catalogue search, the admin's filters).
"""

from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _

#: Paths whose views refuse a NUL in their own parameters, naming the parameter.
SELF_CHECKING_PREFIXES = ("/api/", "/xapi/", "/ims/")


def _holds_nul(request) -> bool:
    if any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items()):
        return True
    if request.path_info.startswith(SELF_CHECKING_PREFIXES):
        return False
    if "\x00" in request.path_info:
        return True
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in request.GET.lists()
    )


class RefuseNulMiddleware:
    """Answer 400 to a request with a NUL character in a cookie, its path or its query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _holds_nul(request):
            return HttpResponseBadRequest(
                _("The request holds a NUL character, which no text here may contain."),
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
