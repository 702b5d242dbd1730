"""The progress of an automatic attainment recomputation, for the person whose change
started it (:mod:`competencies.recompute`). The page refreshes itself while the work runs;
it shows counts, never a learner."""

from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from competencies.models import AttainmentRecompute, RecomputeStatus

#: Seconds between two refreshes of the page while the recomputation runs.
REFRESH_SECONDS = 3


def recompute_detail(request, pk: int):
    recompute = get_object_or_404(AttainmentRecompute, pk=pk)
    running = recompute.status in (RecomputeStatus.QUEUED, RecomputeStatus.RUNNING)
    return TemplateResponse(
        request,
        "competencies/admin/recompute_detail.html",
        {
            "recompute": recompute,
            "frameworks": list(recompute.frameworks.order_by("title")),
            "refresh_seconds": REFRESH_SECONDS if running else None,
            "header_title": _("Attainment recomputation"),
            "page_title": _("Attainment recomputation"),
            "header_icon": "list-ul",
        },
    )
