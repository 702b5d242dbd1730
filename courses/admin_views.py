"""Wagtail admin pages of the courses app: an institution's cohorts.

An institution's managers and instructors see, create and enrol only their own
institution's cohorts (another institution's cohort is a 404), upload learner lists and watch
their progress. Every change is made by :mod:`courses.services`; the pages work without
JavaScript.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from courses import selectors, services
from courses.cohorts import COLUMNS
from courses.forms import CohortForm, LearnerImportForm
from courses.models import Cohort
from lms.downloads import attachment_header
from lms.models import Institution
from lms.spreadsheets import csv_write_rows, xlsx_bytes

ICON = "group"


# --- Pages --------------------------------------------------------------------------------


def _institutions(request) -> list[Institution]:
    institutions = selectors.cohort_institutions(user=request.user)
    if not institutions:
        raise PermissionDenied(_("Only an institution's managers and instructors run cohorts."))
    return institutions


def _cohort(request, pk: int) -> Cohort:
    _institutions(request)
    return get_object_or_404(selectors.cohorts_for(user=request.user), pk=pk)


def _render(request, template: str, context: dict, *, title: str, subtitle: str = "", **kw):
    return TemplateResponse(
        request,
        f"courses/admin/{template}",
        {
            "header_title": f"{title} — {subtitle}" if subtitle else title,
            "page_title": title,
            "page_subtitle": subtitle,
            "header_icon": ICON,
            **context,
        },
        **kw,
    )


def cohort_list(request):
    _institutions(request)
    cohorts = selectors.cohorts_for(user=request.user).annotate(learner_count=Count("learners"))
    return _render(request, "cohort_list.html", {"cohorts": cohorts}, title=_("Cohorts"))


def cohort_create(request):
    institutions = _institutions(request)
    form = CohortForm(request.POST or None, institutions=institutions)
    if request.method == "POST" and form.is_valid():
        try:
            cohort = services.cohort_create(**form.cleaned_data)
        except services.LearningError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Cohort “%(name)s” created.") % {"name": cohort.name})
            return redirect("courses_cohort", cohort.pk)
    return _render(request, "cohort_form.html", {"form": form}, title=_("Add a cohort"))


def cohort_detail(request, pk: int):
    cohort = _cohort(request, pk)
    rows = selectors.cohort_progress(cohort=cohort)
    return _render(
        request,
        "cohort_detail.html",
        {
            "cohort": cohort,
            "rows": rows,
            "not_enrolled": sum(1 for row in rows if not row.status),
        },
        title=_("Cohort"),
        subtitle=cohort.name,
    )


@require_POST
def cohort_enrol(request, pk: int):
    cohort = _cohort(request, pk)
    try:
        result = services.cohort_enrol(cohort=cohort)
    except services.LearningError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(enrolled)d learners enrolled in “%(course)s”; %(already)d were enrolled already.")
            % {
                "enrolled": result.enrolled,
                "already": result.already,
                "course": cohort.course.title,
            },
        )
    return redirect("courses_cohort", cohort.pk)


@never_cache
def cohort_import(request, pk: int):
    """Upload a learner list. The result page shows new one-time passwords, this once only."""
    cohort = _cohort(request, pk)
    form = LearnerImportForm(request.POST or None, request.FILES or None)
    errors = []
    if request.method == "POST" and form.is_valid():
        try:
            result = services.cohort_learners_import(
                cohort=cohort, data=form.cleaned_data["file"].read()
            )
        except services.CohortImportError as error:
            errors = error.errors
        else:
            return _render(
                request,
                "cohort_import_result.html",
                {"cohort": cohort, "result": result},
                title=_("Learners imported"),
                subtitle=cohort.name,
            )
    return _render(
        request,
        "cohort_import.html",
        {"cohort": cohort, "form": form, "errors": errors, "columns": COLUMNS},
        title=_("Upload learners"),
        subtitle=cohort.name,
    )


def cohort_import_template(request, pk: int):
    """A CSV file to fill in: the header and one example learner."""
    cohort = _cohort(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment_header("learners.csv")
    example = [
        "amina.n",
        "",
        "Amina Njoroge",
        "volunteer",
        "community",
        cohort.institution.country,
        "Nairobi",
        "Kibra",
        "",
    ]
    csv_write_rows(response, [COLUMNS, example])
    return response


# --- Cohort × competency grid -------------------------------------------------------------

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cohort_grid(request, pk: int):
    """Who has reached which level of each competency the course builds, and the gaps."""
    cohort = _cohort(request, pk)
    return _render(
        request,
        "cohort_grid.html",
        {"cohort": cohort, "grid": selectors.cohort_competency_grid(cohort=cohort)},
        title=_("Competency grid"),
        subtitle=cohort.name,
    )


def _grid_table(grid: selectors.CohortGrid) -> list[list]:
    """The grid as exported: a header, a line per learner, the summary line last."""
    header = [_("Learner"), _("Username")] + [
        _("%(competency)s (target: %(level)s)")
        % {"competency": column.heading, "level": column.target_level.name}
        for column in grid.columns
    ]
    lines = [
        [row.full_name, row.learner.username] + [cell.label for cell in row.cells]
        for row in grid.rows
    ]
    summary = [_("Reached the target"), ""] + [column.reached_target for column in grid.columns]
    return [header, *lines, summary]


def _grid_filename(cohort: Cohort, extension: str) -> str:
    return f"cohort-{cohort.pk}-competencies.{extension}"


def cohort_grid_csv(request, pk: int):
    cohort = _cohort(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = attachment_header(_grid_filename(cohort, "csv"))
    csv_write_rows(response, _grid_table(selectors.cohort_competency_grid(cohort=cohort)))
    return response


def cohort_grid_xlsx(request, pk: int):
    cohort = _cohort(request, pk)
    workbook = xlsx_bytes(
        title=_("Competencies"),
        rows=_grid_table(selectors.cohort_competency_grid(cohort=cohort)),
        bold_rows=(1, -1),  # the header and the summary
    )
    response = HttpResponse(workbook, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = attachment_header(_grid_filename(cohort, "xlsx"))
    return response


# --- Recognised prior learning ----------------------------------------------------------------

PRIOR_LEARNING_LISTED = 100


def prior_learning(request):
    """Recognise a learner's prior learning, and list what the institution recognised."""
    from competencies.models import EvidenceSource
    from competencies.selectors import evidence_of_institutions
    from courses.forms import PriorLearningForm

    institutions = _institutions(request)
    chosen = request.GET.get("institution") or request.POST.get("institution_slug", "")
    institution = next((i for i in institutions if i.slug == chosen), institutions[0])
    form = PriorLearningForm(
        request.POST or None,
        institution=institution,
        learners=selectors.institution_learners(institution=institution),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.prior_learning_record(
                recorded_by=request.user,
                institution=institution,
                learner=data["learner"],
                competency=data["competency"],
                level=data["level"],
                achieved_on=data["observed_on"],
                title=data["title"],
                notes=data["notes"],
                evidence_url=data["evidence_url"],
            )
        except services.LearningError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Prior learning of %(learner)s recognised: %(code)s at %(level)s.")
                % {
                    "learner": data["learner"].get_username(),
                    "code": data["competency"].code,
                    "level": data["level"].name,
                },
            )
            return redirect(f"{request.path}?institution={institution.slug}")
    recognised = evidence_of_institutions(
        institution_ids=[i.pk for i in institutions], source_kind=EvidenceSource.PRIOR_LEARNING
    )[:PRIOR_LEARNING_LISTED]
    return _render(
        request,
        "prior_learning.html",
        {
            "form": form,
            "institution": institution,
            "institutions": institutions,
            "recognised": recognised,
        },
        title=_("Prior learning"),
        subtitle=institution.name,
    )
