"""Machine-readable documents: credentials, issuer profiles and keys, status lists.

Public and cacheable: a verifier's software fetches these without an account.
"""

from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from certificates import credentials
from certificates.models import Certificate
from lms.downloads import attachment_header
from lms.models import Institution

LD_JSON = "application/ld+json"


def _json(document: dict) -> JsonResponse:
    response = JsonResponse(document, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Content-Type"] = f"{LD_JSON}; charset=utf-8"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@cache_control(public=True, max_age=3600)
def keys(request):
    return _json(credentials.keys_document())


@require_GET
@cache_control(public=True, max_age=3600)
def issuer(request, uuid):
    return _json(credentials.issuer_profile(get_object_or_404(Institution, uuid=uuid)))


@require_GET
@cache_control(public=True, max_age=300)
def issuer_status_list(request, uuid, number: int):
    institution = get_object_or_404(Institution, uuid=uuid)
    if not credentials.status_list_in_use(institution=institution, list_number=number):
        raise Http404("No such status list.")
    return _json(credentials.status_list_credential(institution=institution, list_number=number))


@require_GET
@cache_control(public=True, max_age=300)
def status_list(request, number: int):
    """The service's list, which credentials signed before their institution issued its own
    lists point to."""
    if not credentials.service_status_list_in_use(list_number=number):
        raise Http404("No such status list.")
    return _json(credentials.service_status_list_credential(list_number=number))


@require_GET
def credential(request, uuid):
    """The signed credential of a certificate (its id URL); the holder can also download it."""
    certificate = get_object_or_404(Certificate, uuid=uuid)
    if certificate.credential is None:
        raise Http404("The credential is being prepared.")
    response = _json(certificate.credential)
    if request.GET.get("download"):
        response["Content-Disposition"] = attachment_header(
            f"certificate-{certificate.display_code}.json"
        )
    return response
