"""Supervisors' pages on the learning site (not the Wagtail admin: supervisors have no admin
access): record an observation of a learner's practice on a phone, and list those recorded.

Thin: parse the form, call :func:`courses.services.observation_record_for_institution`,
redirect. Plain HTML forms, no JavaScript.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from courses import selectors, services
from courses.forms import ObservationForm

# --- Pages --------------------------------------------------------------------------------


def _refused(request, message: str, status: int = 403):
    return TemplateResponse(
        request, "courses/learning_error.html", {"message": message, "page": None}, status=status
    )


NOT_A_SUPERVISOR = gettext_lazy("Only supervisors of a training institution record observations.")


@login_required
def observation_new(request):
    """Record one observation. A supervisor at several institutions first picks one."""
    institutions = selectors.supervised_institutions(user=request.user)
    if not institutions:
        return _refused(request, str(NOT_A_SUPERVISOR))
    chosen = request.GET.get("institution", "")
    institution = next((i for i in institutions if i.slug == chosen), None)
    if institution is None:
        if len(institutions) > 1:
            return TemplateResponse(
                request, "courses/observation_institution.html", {"institutions": institutions}
            )
        institution = institutions[0]
    form = ObservationForm(
        request.POST or None,
        institution=institution,
        learners=selectors.institution_learners(institution=institution),
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            observation = services.observation_record_for_institution(
                supervisor=request.user,
                institution=institution,
                learner=data["learner"],
                competency=data["competency"],
                level=data["level"],
                observed_on=data["observed_on"],
                notes=data["notes"],
                module=data["module"],
                event_id=data["event_id"],
            )
        except services.LearningError as error:
            form.add_error(None, str(error))
            status = error.status
        else:
            messages.success(
                request,
                _("Observation recorded: %(learner)s, %(competency)s at “%(level)s”.")
                % {
                    "learner": data["learner"].get_username(),
                    "competency": observation.competency.code or observation.competency.label,
                    "level": observation.level.name,
                },
            )
            return redirect("courses:observations")
    return TemplateResponse(
        request,
        "courses/observation_form.html",
        {"form": form, "institution": institution, "several": len(institutions) > 1},
        status=status,
    )


@login_required
def observation_list(request):
    """The observations the supervisor recorded, newest first."""
    if not selectors.supervised_institutions(user=request.user):
        return _refused(request, str(NOT_A_SUPERVISOR))
    page = Paginator(selectors.observations_recorded_by(supervisor=request.user), 50).get_page(
        request.GET.get("page")
    )
    return TemplateResponse(request, "courses/observation_list.html", {"page_obj": page})
