"""The regulator's workspace: statistics, heat map, planning and their exports.

Thin: each view finds the regulator's body (refusing anyone without one), reads the
numbers through :mod:`regulation.figures` and :mod:`regulation.tables`, and renders.
"""

import functools
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from certificates import verification_cache
from competencies import selectors as competency_selectors
from lms.downloads import attachment_header
from lms.spreadsheets import csv_write_rows, xlsx_bytes
from regulation import (
    charts,
    counting,
    figures,
    figures_cache,
    planning,
    register,
    selectors,
    services,
    tables,
)
from regulation.forms import FiltersForm, PopulationUploadForm, TargetForm


def regulator_required(view):
    """Serve only a member of a regulatory body, with their body as ``request.body``."""

    @functools.wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        body = selectors.body_of(user=request.user)
        if body is None:
            raise PermissionDenied(_("This page is for members of a regulatory body."))
        request.regulatory_body = body
        return view(request, *args, **kwargs)

    return wrapper


def _context(request, **extra) -> dict:
    query = request.GET.copy()
    query.pop("format", None)
    return {
        "body": request.regulatory_body,
        "query": query.urlencode(),
        "counted_each_request": not figures_cache.seconds(),
        **extra,
    }


@regulator_required
def workspace(request):
    body = request.regulatory_body
    counted_at = counting.figures_as_of(body=body)
    form = FiltersForm(request.GET or None, body=body)
    filters, group = form.filters(), form.grouping()
    table = tables.statistics_table(body=body, filters=filters, group=group)
    months = tables.months_table(body=body, filters=filters)
    dimension = str(figures.DIMENSIONS[group])
    bars = charts.bar_chart(
        ident="valid-by-group",
        title=_("Workers holding a valid certificate, by %(dimension)s")
        % {"dimension": dimension.lower()},
        desc=_("One bar per %(dimension)s; the table beside it gives every number.")
        % {"dimension": dimension.lower()},
        bars=[(str(row[0]), row[5]) for row in table[1:-1]],
    )
    series = charts.series_chart(
        ident="certificates-by-month",
        title=_("Certificates issued, revoked and expired by month"),
        desc=_("Three lines over the months of the date range; the table gives every number."),
        labels=[row[0] for row in months[1:]],
        series=[
            (_("Issued"), [row[1] for row in months[1:]]),
            (_("Revoked"), [row[2] for row in months[1:]]),
            (_("Expired"), [row[3] for row in months[1:]]),
        ],
    )
    return render(
        request,
        "regulation/workspace.html",
        _context(
            request,
            tab="statistics",
            counted_at=counted_at,
            form=form,
            table=table,
            months=months,
            bars=bars,
            series=series,
            expiring=figures.expiring(body=body, filters=filters, limit=20),
            expiring_count=figures.expiring_count(body=body, filters=filters),
            expiring_days=figures.EXPIRING_DAYS,
        ),
    )


def _framework(request):
    frameworks = list(
        competency_selectors.published_frameworks(
            jurisdiction=selectors.jurisdiction_of(body=request.regulatory_body)
        )
    )
    wanted = request.GET.get("framework", "")
    chosen = next((f for f in frameworks if str(f.pk) == wanted), None)
    return frameworks, chosen or (frameworks[0] if frameworks else None)


@regulator_required
def heat_map(request):
    body = request.regulatory_body
    counted_at = counting.figures_as_of(body=body)
    form = FiltersForm(request.GET or None, body=body)
    frameworks, framework = _framework(request)
    heat = figures.heat_map(body=body, filters=form.filters(), framework=framework)
    table = tables.heat_map_table(heat)
    svg = charts.heat_map(
        ident="competency-heat-map",
        title=_("Workers proficient in each competency, by region"),
        desc=_(
            "Rows are regions, columns competencies; each cell is the share of the region's "
            "workers proficient in the competency. The table gives every number."
        ),
        rows=[str(row[0]) for row in table[1:]],
        columns=[str(c) for c in table[0][2:]],
        share=lambda r, c: heat.share(heat.regions[r], heat.competencies[c].pk),
    )
    return render(
        request,
        "regulation/heat_map.html",
        _context(
            request,
            tab="heat_map",
            counted_at=counted_at,
            form=form,
            frameworks=frameworks,
            framework=framework,
            table=table,
            svg=svg,
        ),
    )


@regulator_required
def planning_view(request):
    body = request.regulatory_body
    counted_at = counting.figures_as_of(body=body)
    form = FiltersForm(request.GET or None, body=body)
    rows = planning.plan(body=body, filters=form.filters())
    table = tables.planning_table(body=body, filters=form.filters())
    svg = charts.bar_chart(
        ident="workers-per-children",
        title=_("Certified workers per 100,000 children, by region"),
        desc=_("Regions ranked from the fewest workers per child; the table gives the gaps."),
        bars=[(r.region, r.per_100k) for r in rows],
    )
    return render(
        request,
        "regulation/planning.html",
        _context(
            request,
            tab="planning",
            counted_at=counted_at,
            form=form,
            rows=rows,
            table=table,
            svg=svg,
            upload_form=PopulationUploadForm(),
            target_form=TargetForm(
                initial={"children_per_worker": body.children_per_worker_target}
            ),
        ),
    )


@require_POST
@regulator_required
def population_upload(request):
    form = PopulationUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose a CSV file to upload."))
        return redirect("regulation:planning")
    try:
        figures = services.population_replace(
            body=request.regulatory_body, content=form.cleaned_data["file"].read()
        )
    except services.PopulationFileError as error:
        messages.error(request, _("Nothing was changed: the file has problems."))
        for problem in error.problems[:50]:
            messages.error(request, problem)
    else:
        messages.success(
            request, _("Population figures of %(n)s regions saved.") % {"n": len(figures)}
        )
    return redirect("regulation:planning")


@require_POST
@regulator_required
def target_update(request):
    form = TargetForm(request.POST)
    if form.is_valid():
        services.target_set(
            body=request.regulatory_body,
            children_per_worker=form.cleaned_data["children_per_worker"],
        )
        messages.success(request, _("The target was saved."))
    else:
        for error in form.errors.get("children_per_worker", []):
            messages.error(request, error)
    return redirect("regulation:planning")


EXPORTS = {"statistics", "months", "expiring", "heat-map", "planning", "cpd-behind"}


@regulator_required
def export(request, view: str, fmt: str):
    """Any workspace view's table as CSV or XLSX, with the same filters as its page."""
    if view not in EXPORTS or fmt not in {"csv", "xlsx"}:
        raise Http404
    body = request.regulatory_body
    counting.figures_as_of(body=body)
    form = FiltersForm(request.GET or None, body=body)
    filters = form.filters()
    if view == "statistics":
        rows = tables.statistics_table(body=body, filters=filters, group=form.grouping())
    elif view == "months":
        rows = tables.months_table(body=body, filters=filters)
    elif view == "expiring":
        rows = tables.expiring_table(body=body, filters=filters)
    elif view == "heat-map":
        _frameworks, framework = _framework(request)
        rows = tables.heat_map_table(
            figures.heat_map(body=body, filters=filters, framework=framework)
        )
    elif view == "cpd-behind":
        rows = tables.cpd_behind_table(
            body=body,
            requirement_id=request.GET.get("requirement", ""),
            region=request.GET.get("region", ""),
        )
    else:
        rows = tables.planning_table(body=body, filters=filters)
    filename = f"{body.slug}-{view}-{timezone.localdate().isoformat()}.{fmt}"
    if fmt == "csv":
        out = io.StringIO()
        csv_write_rows(out, rows)
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            xlsx_bytes(title=view, rows=rows, bold_rows=(1,)),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = attachment_header(filename)
    return response


# --- The register ----------------------------------------------------------------------------


def register_search(request, body_slug: str | None = None):
    """The public register: anyone searches a body's listed workers; the body's own
    regulators search every worker of its jurisdiction. Rate-limited like verification."""
    all_bodies = list(selectors.bodies())
    body = (
        selectors.body_by_slug(slug=body_slug)
        if body_slug
        else (all_bodies[0] if len(all_bodies) == 1 else None)
    )
    if body_slug and body is None:
        raise Http404
    text = request.GET.get("q", "").strip()[:200]
    everyone = body is not None and selectors.body_of(user=request.user) == body
    context = {
        "body": body,
        "bodies": all_bodies,
        "q": text,
        "everyone": everyone,
        "min_length": register.MIN_QUERY_LENGTH,
        "entries": None,
    }
    if body is not None and text:
        if not everyone:
            allowance = verification_cache.lookup_allowed(
                client=verification_cache.client_of(request)
            )
            if not allowance.allowed:
                response = render(
                    request,
                    "regulation/register.html",
                    {**context, "error": _("Too many searches. Wait a minute, then try again.")},
                    status=429,
                )
                response["Retry-After"] = str(allowance.retry_after)
                return response
        context["entries"] = register.search(body=body, text=text, everyone=everyone)
    return render(request, "regulation/register.html", context)


# --- API keys ----------------------------------------------------------------------------------


@regulator_required
def api_keys(request):
    """The body's API keys: create one (shown once), revoke one."""
    body = request.regulatory_body
    new_key = None
    if request.method == "POST" and "revoke" in request.POST:
        key_id = request.POST.get("revoke", "")
        if key_id.isdigit():
            services.regulator_api_key_revoke(body=body, key_id=int(key_id))
            messages.success(request, _("The key was revoked."))
        return redirect("regulation:api_keys")
    if request.method == "POST":
        try:
            _api_key, new_key = services.regulator_api_key_create(
                body=body, name=request.POST.get("name", ""), created_by=request.user
            )
        except ValueError as error:
            messages.error(request, str(error))
    return render(
        request,
        "regulation/api_keys.html",
        _context(request, tab="api_keys", keys=selectors.api_keys_of(body=body), new_key=new_key),
    )
