"""The holder's side: their certificates, the PDF download."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render

from certificates import selectors
from certificates.models import Certificate
from certificates.permissions import may_open_pdf


@login_required
def mine(request):
    return render(
        request,
        "certificates/mine.html",
        {"certificates": selectors.learner_certificates(learner=request.user)},
    )


@login_required
def pdf(request, uuid):
    """The PDF, for its holder, the issuing institution's managers and instructors, and the
    regulators of the holder's jurisdiction."""
    certificate = get_object_or_404(Certificate, uuid=uuid)
    if not may_open_pdf(request.user, certificate):
        raise Http404
    if certificate.is_revoked and certificate.learner_id == request.user.pk:
        raise Http404("This certificate was revoked.")
    if not certificate.is_ready or not certificate.pdf:
        raise Http404("The PDF is being prepared.")
    return FileResponse(
        certificate.pdf.open("rb"),
        content_type="application/pdf",
        as_attachment=bool(request.GET.get("download")),
        filename=f"certificate-{certificate.display_code}.pdf",
    )
