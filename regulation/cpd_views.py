"""CPD pages: the learner's ledger, the institution's review, the regulator's requirements."""

import mimetypes
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lms import selectors as lms_selectors
from lms.downloads import attachment_header
from regulation import cpd, services
from regulation.forms import ActivityForm, RejectForm, RequirementForm
from regulation.models import CpdActivity
from regulation.views import _context, regulator_required


@login_required
def ledger(request):
    """The learner's CPD: progress toward each requirement, hours from courses, activities."""
    profile = lms_selectors.learner_profile_for(user=request.user)
    if profile is None:
        return redirect("lms:profile")
    institutions = lms_selectors.institutions_in(country=profile.country).order_by("name")
    form = ActivityForm(request.POST or None, request.FILES or None, institutions=institutions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.activity_submit(
            learner=request.user,
            institution=data["institution"],
            title=data["title"],
            provider=data["provider"],
            done_on=data["done_on"],
            hours=data["hours"],
            evidence=data["evidence"],
            competencies=data["competencies"],
        )
        messages.success(request, _("Your activity was recorded; your institution will review it."))
        return redirect("regulation:cpd_ledger")
    return render(
        request,
        "regulation/cpd_ledger.html",
        {
            "progress": cpd.learner_progress(learner=request.user),
            "courses": cpd.learner_course_hours(learner=request.user),
            "activities": cpd.learner_activities(learner=request.user),
            "form": form,
        },
    )


@login_required
def evidence(request, pk: int):
    """An activity's evidence, for the learner and the institution that judges it."""
    activity = get_object_or_404(CpdActivity, pk=pk)
    if not cpd.may_see_evidence(user=request.user, activity=activity):
        raise Http404
    name = Path(activity.evidence.name).name
    response = FileResponse(
        activity.evidence.open("rb"),
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
    )
    response["Content-Disposition"] = attachment_header(name)
    return response


@login_required
def review(request):
    """Activities waiting for a supervisor or manager of the learner's chosen institution."""
    if not lms_selectors.user_institutions(user=request.user, roles=cpd.REVIEWER_ROLES).exists():
        raise PermissionDenied(_("This page is for supervisors and institution managers."))
    return render(
        request,
        "regulation/cpd_review.html",
        {"activities": cpd.activities_to_review(user=request.user), "reject_form": RejectForm()},
    )


@require_POST
@login_required
def approve(request, pk: int):
    try:
        services.activity_approve(activity_id=pk, user=request.user)
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The activity was approved."))
    return redirect("regulation:cpd_review")


@require_POST
@login_required
def reject(request, pk: int):
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the activity is rejected."))
        return redirect("regulation:cpd_review")
    try:
        services.activity_reject(
            activity_id=pk, user=request.user, reason=form.cleaned_data["reason"]
        )
    except ValueError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The activity was rejected."))
    return redirect("regulation:cpd_review")


@regulator_required
def requirements(request):
    """The body's CPD requirements, a form for a new one, and who is behind on the chosen one."""
    body = request.regulatory_body
    form = RequirementForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        requirement = services.requirement_create(
            body=body,
            created_by=request.user,
            title=data["title"],
            cadre=data["cadre"],
            hours=data["hours"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            competencies=data["competencies"],
            domain=data["domain"],
        )
        messages.success(request, _("The requirement was saved."))
        return redirect(f"{request.path}?requirement={requirement.pk}")
    found = list(cpd.requirements_of_body(body=body))
    chosen = next((r for r in found if str(r.pk) == request.GET.get("requirement")), None)
    chosen = chosen or (found[0] if found else None)
    region = request.GET.get("region", "")
    return render(
        request,
        "regulation/cpd_requirements.html",
        _context(
            request,
            tab="cpd",
            form=form,
            requirements=found,
            chosen=chosen,
            region=region,
            behind=cpd.behind(requirement=chosen, region=region, limit=200) if chosen else [],
        ),
    )


def dashboard_panel(request) -> str:
    """The learner dashboard's "CPD" section: progress toward each requirement."""
    if not request.user.is_authenticated:
        return ""
    progress = cpd.learner_progress(learner=request.user)
    if not progress:
        return ""
    return render_to_string(
        "regulation/cpd_dashboard_panel.html", {"progress": progress}, request=request
    )
