"""Wagtail admin pages for authoring competency frameworks.

Who may do what is decided by :mod:`competencies.selectors`; every change is made by
:mod:`competencies.services` (competency rules by :mod:`competencies.rules`). A refusal from a
service (:class:`~competencies.services.FrameworkError`) is shown to the person as it is and
nothing changes. The pages work without JavaScript: every button is a link or a form.
"""

import json
from functools import partial

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from wagtail.admin import messages as admin_messages
from wagtail.admin.auth import user_passes_test

from competencies import recompute, rules, selectors, services
from competencies.forms import (
    AssociationForm,
    FrameworkForm,
    ImportForm,
    ImportFormat,
    ItemForm,
    ItemMoveForm,
    ItemRuleForm,
    NewVersionForm,
    ScaleFormSet,
    next_version_number,
    subtree_pks,
)
from competencies.interchange import (
    FrameworkFileError,
    LevelData,
    export_case_package,
    export_moodle_csv,
    parse_case_package,
    parse_moodle_csv,
)
from competencies.models import (
    CompetencyAssociation,
    CompetencyItem,
    Framework,
    FrameworkStatus,
)
from lms.downloads import attachment_header
from lms.links import site_base_url
from lms.selectors import user_is_regulator

ICON = "list-ul"

author_required = user_passes_test(lambda user: selectors.user_can_author_frameworks(user=user))


def default_scale() -> list[LevelData]:
    """The scale a new framework starts with; its authors can change it while it is a draft."""
    return [
        LevelData(name=_("Not yet competent")),
        LevelData(name=_("Developing")),
        LevelData(name=_("Competent"), is_proficient=True),
        LevelData(name=_("Proficient")),
    ]


# --- Helpers ------------------------------------------------------------------------------


def _render(request, template: str, context: dict, *, title: str, subtitle: str = ""):
    return TemplateResponse(
        request,
        f"competencies/admin/{template}",
        {
            "header_title": f"{title} — {subtitle}" if subtitle else title,
            "page_title": title,
            "page_subtitle": subtitle,
            "header_icon": ICON,
            **context,
        },
    )


def _form_page(request, form, framework, *, submit_label, cancel_url, title):
    """The one form page of the framework admin (details, items, moves, versions, links)."""
    return _render(
        request,
        "form.html",
        {
            "form": form,
            "framework": framework,
            "submit_label": submit_label,
            "cancel_url": cancel_url,
        },
        title=title,
        subtitle=str(framework),
    )


def _visible_framework(request, pk: int) -> Framework:
    """A framework the person may see (404 for another institution's drafts)."""
    return get_object_or_404(selectors.frameworks_visible_to(user=request.user), pk=pk)


def _editable_framework(request, pk: int) -> Framework:
    """A framework the person may change (403 when they may only look at it)."""
    framework = _visible_framework(request, pk)
    if not selectors.framework_can_edit(user=request.user, framework=framework):
        raise PermissionDenied(_("You cannot change this framework."))
    return framework


def _item(framework: Framework, item_pk: int) -> CompetencyItem:
    return get_object_or_404(
        CompetencyItem.objects.select_related("framework"), framework=framework, pk=item_pk
    )


def _framework_url(framework: Framework, item: CompetencyItem | None = None) -> str:
    url = reverse("competencies_framework", args=[framework.pk])
    return f"{url}#item-{item.pk}" if item is not None else url


def _not_a_draft(request, framework: Framework):
    """Send someone who opened an editing form of a published or retired framework back."""
    messages.warning(
        request,
        _(
            "“%(framework)s” is %(status)s, and a published framework never changes. "
            "Create a new version to make changes."
        )
        % {"framework": framework, "status": framework.get_status_display().lower()},
    )
    return redirect(_framework_url(framework))


def _refused(request, error: services.FrameworkError, framework: Framework, form_response):
    """Show a service's refusal: on the form when it can be corrected, else on the framework."""
    messages.error(request, str(error))
    framework.refresh_from_db(fields=["status"])
    if framework.is_editable:
        return form_response()
    return redirect(_framework_url(framework))


def _may_be_unowned(user) -> bool:
    """Regulators (and superusers) create frameworks that no institution owns."""
    return user.is_superuser or user_is_regulator(user=user)


def _search(rows: list[selectors.TreeNode], query: str) -> list[tuple[selectors.TreeNode, bool]]:
    """Rows whose code or words match ``query``, with their ancestors for context.

    Returns ``(row, matched)`` pairs in reading order; ancestors come with ``matched`` False.
    """
    if not query:
        return [(node, False) for node in rows]
    needle = query.casefold()
    words = needle.split()
    parent_of = {node.item.pk: node.item.parent_id for node in rows}
    matched = set()
    for node in rows:
        item = node.item
        text = " ".join(
            (item.code, item.full_statement, item.abbreviated_statement, item.notes)
        ).casefold()
        if item.code.casefold().startswith(needle) or all(word in text for word in words):
            matched.add(item.pk)
    shown = set(matched)
    for pk in matched:
        parent = parent_of[pk]
        while parent is not None and parent not in shown:
            shown.add(parent)
            parent = parent_of[parent]
    return [(node, node.item.pk in matched) for node in rows if node.item.pk in shown]


# --- Frameworks ---------------------------------------------------------------------------


@author_required
def framework_list(request):
    status = request.GET.get("status", "")
    frameworks = selectors.frameworks_visible_to(user=request.user).order_by("title", "version")
    if status in FrameworkStatus.values:
        frameworks = frameworks.filter(status=status)
    else:
        status = ""
    editable = set(selectors.frameworks_editable_by(user=request.user).values_list("pk", flat=True))
    return _render(
        request,
        "framework_list.html",
        {
            "frameworks": [(framework, framework.pk in editable) for framework in frameworks],
            "statuses": FrameworkStatus.choices,
            "status": status,
        },
        title=_("Competency frameworks"),
    )


@author_required
def framework_create(request):
    institutions = selectors.institutions_for_framework_owner(user=request.user)
    form = FrameworkForm(
        request.POST or None,
        institutions=institutions,
        may_be_unowned=_may_be_unowned(request.user),
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                framework = services.framework_create(
                    owner_institution=form.cleaned_data["owner_institution"],
                    created_by=request.user,
                    **form.service_fields(),
                )
                services.scale_set(framework=framework, levels=default_scale())
        except IntegrityError:
            # A double click: the first request created it, the unique constraint stopped
            # the second.
            messages.error(
                request,
                _("Version %(version)s of “%(title)s” exists already.")
                % {"version": form.cleaned_data["version"], "title": form.cleaned_data["title"]},
            )
            return redirect("competencies_frameworks")
        messages.success(
            request,
            _("Framework “%(framework)s” created as a draft. Add its competencies below.")
            % {"framework": framework},
        )
        return redirect(_framework_url(framework))
    return _render(
        request,
        "form.html",
        {
            "form": form,
            "submit_label": _("Create framework"),
            "cancel_url": reverse("competencies_frameworks"),
        },
        title=_("New competency framework"),
    )


@author_required
def framework_detail(request, pk: int):
    framework = _visible_framework(request, pk)
    query = request.GET.get("q", "").strip()
    rows = selectors.framework_tree_rows(framework=framework)
    can_edit = selectors.framework_can_edit(user=request.user, framework=framework)
    # How each parent is attained from its children, worked out from the rows (no query).
    rule_of = {
        node.item.pk: rules.rule_summary(
            item=node.item, child_codes=[child.item.code for child in node.children]
        )
        for node in rows
        if node.children
    }
    associations = CompetencyAssociation.objects.select_related(
        "origin__framework", "destination__framework"
    ).order_by("pk")
    return _render(
        request,
        "framework_detail.html",
        {
            "framework": framework,
            "can_edit": can_edit,
            "can_change": can_edit and framework.is_editable,
            "levels": list(framework.levels.order_by("order")),
            "rows": [
                (node, matched, rule_of.get(node.item.pk)) for node, matched in _search(rows, query)
            ],
            "item_count": len(rows),
            "query": query,
            "labels": {  # translated once, not once per row
                "add_child": _("Add child"),
                "edit": _("Edit"),
                "up": "▲ " + _("Up"),
                "down": "▼ " + _("Down"),
                "move": _("Move to…"),
                "rule": _("Rule"),
                "delete": _("Delete"),
                "attained_when": _("Attained when:"),
            },
            "associations": list(associations.filter(framework=framework)),
            "last_recompute": recompute.framework_last_recompute(framework=framework),
            "incoming": list(
                associations.select_related("framework")
                .filter(
                    destination__framework=framework,
                    framework__in=selectors.frameworks_visible_to(user=request.user).values("pk"),
                )
                .exclude(framework=framework)
            ),
            "previous_version": (
                selectors.frameworks_visible_to(user=request.user)
                .filter(pk=framework.previous_version_id)
                .first()
                if framework.previous_version_id
                else None
            ),
            "next_versions": list(
                selectors.frameworks_visible_to(user=request.user).filter(
                    previous_version=framework
                )
            ),
        },
        title=framework.title,
        subtitle=_("version %(version)s") % {"version": framework.version},
    )


@author_required
def framework_edit(request, pk: int):
    framework = _editable_framework(request, pk)
    if request.method != "POST" and not framework.is_editable:
        return _not_a_draft(request, framework)
    form = FrameworkForm(request.POST or None, instance=framework)

    show_form = partial(
        _form_page,
        request,
        form,
        framework,
        submit_label=_("Save"),
        cancel_url=_framework_url(framework),
        title=_("Edit framework"),
    )

    if request.method == "POST" and form.is_valid():
        try:
            services.framework_update(framework=framework, **form.service_fields())
        except services.FrameworkError as error:
            return _refused(request, error, framework, show_form)
        messages.success(request, _("Framework details saved."))
        return redirect(_framework_url(framework))
    return show_form()


@author_required
def framework_delete(request, pk: int):
    framework = _editable_framework(request, pk)
    if request.method == "POST":
        try:
            services.framework_delete(framework=framework)
        except services.FrameworkError as error:
            messages.error(request, str(error))
            return redirect(_framework_url(framework))
        except ProtectedError:
            messages.error(
                request,
                _("“%(framework)s” cannot be deleted: other records refer to it.")
                % {"framework": framework},
            )
            return redirect(_framework_url(framework))
        messages.success(request, _("Draft “%(framework)s” deleted.") % {"framework": framework})
        return redirect("competencies_frameworks")
    if not framework.is_editable:
        return _not_a_draft(request, framework)
    return _render(
        request,
        "confirm_delete.html",
        {
            "question": _("Delete the draft “%(framework)s”, its scale and its %(count)s items?")
            % {"framework": framework, "count": framework.item_count},
            "cancel_url": _framework_url(framework),
        },
        title=_("Delete framework"),
        subtitle=str(framework),
    )


@author_required
def scale_edit(request, pk: int):
    framework = _editable_framework(request, pk)
    if request.method != "POST" and not framework.is_editable:
        return _not_a_draft(request, framework)
    levels = list(framework.levels.order_by("order"))
    proficient = next((i for i, level in enumerate(levels) if level.is_proficient), None)
    formset = ScaleFormSet(
        request.POST or None,
        prefix="levels",
        proficient=proficient,
        initial=[
            {
                "name": level.name,
                "code": level.code,
                "description": level.description,
                "ORDER": index,
            }
            for index, level in enumerate(levels, start=1)
        ],
    )

    def show_form():
        return _render(
            request,
            "scale_form.html",
            {"formset": formset, "framework": framework, "cancel_url": _framework_url(framework)},
            title=_("Proficiency scale"),
            subtitle=str(framework),
        )

    if request.method == "POST" and formset.is_valid():
        try:
            services.scale_set(framework=framework, levels=formset.levels)
        except services.FrameworkError as error:
            return _refused(request, error, framework, show_form)
        messages.success(request, _("Proficiency scale saved."))
        return redirect(_framework_url(framework))
    return show_form()


@author_required
@require_POST
def framework_publish(request, pk: int):
    framework = _editable_framework(request, pk)
    try:
        framework = services.framework_publish(framework=framework)
    except services.FrameworkError as error:
        messages.error(request, str(error))
    else:
        admin_messages.success(
            request,
            _("“%(framework)s” is published. It can no longer change; courses can map to it.")
            % {"framework": framework},
            buttons=_recompute_buttons(request, framework),
        )
    return redirect(_framework_url(framework))


@author_required
@require_POST
def framework_retire(request, pk: int):
    framework = _editable_framework(request, pk)
    try:
        framework = services.framework_retire(framework=framework)
    except services.FrameworkError as error:
        messages.error(request, str(error))
    else:
        admin_messages.success(
            request,
            _("“%(framework)s” is retired.") % {"framework": framework},
            buttons=_recompute_buttons(request, framework),
        )
    return redirect(_framework_url(framework))


def _recompute_buttons(request, framework) -> list:
    """A link to the recomputation that the publication or retirement has just started."""
    started = recompute.framework_last_recompute(framework=framework)
    if started is None:
        return []
    label = _("Learners' attainment is being recomputed: follow it")
    return [admin_messages.button(reverse("competencies_recompute", args=[started.pk]), label)]


@author_required
def framework_new_version(request, pk: int):
    framework = _editable_framework(request, pk)
    form = NewVersionForm(
        request.POST or None, initial={"version": next_version_number(framework.version)}
    )

    show_form = partial(
        _form_page,
        request,
        form,
        framework,
        submit_label=_("Create new version"),
        cancel_url=_framework_url(framework),
        title=_("New version"),
    )

    if request.method == "POST" and form.is_valid():
        try:
            new = services.framework_new_version(
                framework=framework, version=form.cleaned_data["version"], created_by=request.user
            )
        except services.FrameworkError as error:
            messages.error(request, str(error))
            return show_form()
        messages.success(
            request,
            _("Draft “%(new)s” created from version %(version)s.")
            % {"new": new, "version": framework.version},
        )
        return redirect(_framework_url(new))
    return show_form()


# --- Import and export --------------------------------------------------------------------


PARSERS = {ImportFormat.CASE: parse_case_package, ImportFormat.MOODLE: parse_moodle_csv}


@author_required
def framework_import(request):
    institutions = selectors.institutions_for_framework_owner(user=request.user)
    form = ImportForm(
        request.POST or None,
        request.FILES or None,
        institutions=institutions,
        may_be_unowned=_may_be_unowned(request.user),
        scale_sources=selectors.frameworks_with_scales_visible_to(user=request.user),
    )
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            parsed = PARSERS[form.cleaned_data["format"]](form.cleaned_data["file"].read())
            framework = services.framework_import(
                data=parsed,
                owner_institution=form.cleaned_data["owner_institution"],
                created_by=request.user,
                scale_from=form.cleaned_data["scale_from"],
            )
        except FrameworkFileError as error:
            errors = error.errors
            messages.error(
                request,
                _("Nothing was imported: the file has %(count)s problem(s), listed below.")
                % {"count": len(errors)},
            )
        except services.FrameworkError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Imported “%(framework)s” as a draft with %(count)s items.")
                % {"framework": framework, "count": len(parsed.items)},
            )
            for line in parsed.report:
                messages.info(request, _("Read differently from the file: %s") % line)
            return redirect(_framework_url(framework))
    return _render(
        request,
        "import.html",
        {"form": form, "errors": errors, "cancel_url": reverse("competencies_frameworks")},
        title=_("Import a competency framework"),
    )


def _download_name(framework: Framework, extension: str) -> str:
    stem = slugify(framework.code) or slugify(framework.title) or "framework"
    version = slugify(framework.version.replace(".", "-")).replace("-", ".") or "0"
    return f"{stem}-v{version}.{extension}"


@author_required
def export_case(request, pk: int):
    framework = _visible_framework(request, pk)
    package = export_case_package(
        selectors.framework_data(framework=framework), base_url=site_base_url()
    )
    if not isinstance(package, str | bytes):
        package = json.dumps(package, ensure_ascii=False, indent=2)
    response = HttpResponse(package, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = attachment_header(_download_name(framework, "case.json"))
    return response


@author_required
def export_moodle(request, pk: int):
    framework = _visible_framework(request, pk)
    response = HttpResponse(
        export_moodle_csv(selectors.framework_data(framework=framework)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = attachment_header(_download_name(framework, "csv"))
    return response


# --- Items --------------------------------------------------------------------------------


@author_required
def item_create(request, pk: int):
    framework = _editable_framework(request, pk)
    if request.method != "POST" and not framework.is_editable:
        return _not_a_draft(request, framework)
    rows = selectors.framework_tree_rows(framework=framework)
    form = ItemForm(
        request.POST or None,
        rows=rows,
        framework=framework,
        initial={"parent": request.GET.get("parent", "")},
    )

    show_form = partial(
        _form_page,
        request,
        form,
        framework,
        submit_label=_("Add item"),
        cancel_url=_framework_url(framework),
        title=_("New item"),
    )

    if request.method == "POST" and form.is_valid():
        try:
            item = services.item_create(
                framework=framework, parent=form.cleaned_data["parent"], **form.service_fields()
            )
        except services.FrameworkError as error:
            return _refused(request, error, framework, show_form)
        messages.success(request, _("“%(item)s” added.") % {"item": item})
        return redirect(_framework_url(framework, item))
    return show_form()


@author_required
def item_edit(request, pk: int, item_pk: int):
    framework = _editable_framework(request, pk)
    item = _item(framework, item_pk)
    if request.method != "POST" and not framework.is_editable:
        return _not_a_draft(request, framework)
    rows = selectors.framework_tree_rows(framework=framework)
    form = ItemForm(request.POST or None, rows=rows, framework=framework, instance=item)

    show_form = partial(
        _form_page,
        request,
        form,
        framework,
        submit_label=_("Save"),
        cancel_url=_framework_url(framework, item),
        title=_("Edit item"),
    )

    if request.method == "POST" and form.is_valid():
        parent = form.cleaned_data["parent"]
        try:
            with transaction.atomic():
                services.item_update(item=item, **form.service_fields())
                if item.parent_id != (parent.pk if parent else None):
                    services.item_move(item=item, parent=parent)
        except services.FrameworkError as error:
            return _refused(request, error, framework, show_form)
        messages.success(request, _("“%(item)s” saved.") % {"item": item})
        return redirect(_framework_url(framework, item))
    return show_form()


@author_required
def item_move(request, pk: int, item_pk: int):
    framework = _editable_framework(request, pk)
    item = _item(framework, item_pk)
    if request.method != "POST" and not framework.is_editable:
        return _not_a_draft(request, framework)
    rows = selectors.framework_tree_rows(framework=framework)
    form = ItemMoveForm(request.POST or None, rows=rows, item=item)

    show_form = partial(
        _form_page,
        request,
        form,
        framework,
        submit_label=_("Move"),
        cancel_url=_framework_url(framework, item),
        title=_("Move “%(item)s”") % {"item": item},
    )

    if request.method == "POST" and form.is_valid():
        try:
            services.item_move(item=item, parent=form.cleaned_data["parent"])
        except services.FrameworkError as error:
            return _refused(request, error, framework, show_form)
        messages.success(request, _("“%(item)s” moved.") % {"item": item})
        return redirect(_framework_url(framework, item))
    return show_form()


@author_required
@require_POST
def item_shift(request, pk: int, item_pk: int):
    """Move an item one place up or down among its siblings (the ▲ ▼ buttons)."""
    framework = _editable_framework(request, pk)
    item = _item(framework, item_pk)
    offset = -1 if request.POST.get("direction") == "up" else 1
    try:
        services.item_shift(item=item, offset=offset)
    except services.FrameworkError as error:
        messages.error(request, str(error))
    return redirect(_framework_url(framework, item))


@author_required
def item_delete(request, pk: int, item_pk: int):
    framework = _editable_framework(request, pk)
    item = _item(framework, item_pk)
    if request.method == "POST":
        try:
            services.item_delete(item=item)
        except services.FrameworkError as error:
            messages.error(request, str(error))
            return redirect(_framework_url(framework, item))
        except ProtectedError:
            messages.error(
                request,
                _("“%(item)s” cannot be deleted: other records refer to it.") % {"item": item},
            )
            return redirect(_framework_url(framework, item))
        messages.success(request, _("“%(item)s” deleted.") % {"item": item})
        return redirect(_framework_url(framework))
    if not framework.is_editable:
        return _not_a_draft(request, framework)
    rows = selectors.framework_tree_rows(framework=framework)
    below = len(subtree_pks(rows, item)) - 1
    question = _("Delete “%(item)s”?") % {"item": item}
    if below:
        question = _("Delete “%(item)s” and the %(count)s items under it?") % {
            "item": item,
            "count": below,
        }
    return _render(
        request,
        "confirm_delete.html",
        {"question": question, "cancel_url": _framework_url(framework, item)},
        title=_("Delete item"),
        subtitle=str(framework),
    )


@author_required
def item_rule(request, pk: int, item_pk: int):
    """How a parent is attained from its children: all of them, or points (Moodle's rules)."""
    framework = _editable_framework(request, pk)
    item = _item(framework, item_pk)
    if request.method != "POST" and not framework.is_editable:
        return _not_a_draft(request, framework)
    children = list(item.children.order_by("order", "pk"))
    form = ItemRuleForm(request.POST or None, item=item, children=children) if children else None

    def show_form():
        return _render(
            request,
            "item_rule.html",
            {
                "form": form,
                "item": item,
                "framework": framework,
                "cancel_url": _framework_url(framework, item),
            },
            title=_("Competency rule"),
            subtitle=str(item),
        )

    if request.method == "POST" and form is not None and form.is_valid():
        try:
            rules.item_rule_set(item=item, **form.rule())
        except rules.RuleError as error:
            for problem in error.problems:
                form.add_error(None, problem)
            return show_form()
        except services.FrameworkError as error:
            return _refused(request, error, framework, show_form)
        messages.success(
            request,
            _("Rule of “%(item)s” saved. %(rule)s.")
            % {
                "item": item,
                "rule": rules.rule_summary(
                    item=item, child_codes=[child.code for child in children]
                ),
            },
        )
        return redirect(_framework_url(framework, item))
    return show_form()


# --- Associations -------------------------------------------------------------------------


@author_required
def association_create(request, pk: int):
    framework = _editable_framework(request, pk)
    if request.method != "POST" and not framework.is_editable:
        return _not_a_draft(request, framework)
    rows = selectors.framework_tree_rows(framework=framework)
    form = AssociationForm(
        request.POST or None,
        rows=rows,
        frameworks=selectors.frameworks_visible_to(user=request.user),
        initial={"origin": request.GET.get("origin", ""), "destination_framework": framework.pk},
    )

    show_form = partial(
        _form_page,
        request,
        form,
        framework,
        submit_label=_("Add association"),
        cancel_url=_framework_url(framework) + "#associations",
        title=_("New association"),
    )

    if request.method == "POST" and form.is_valid():
        try:
            association = services.association_create(
                framework=framework,
                origin=form.cleaned_data["origin"],
                destination=form.cleaned_data["destination"],
                association_type=form.cleaned_data["association_type"],
            )
        except services.FrameworkError as error:
            return _refused(request, error, framework, show_form)
        messages.success(request, _("Association added: %(link)s.") % {"link": association})
        return redirect(_framework_url(framework) + "#associations")
    return show_form()


@author_required
@require_POST
def association_delete(request, pk: int, association_pk: int):
    framework = _editable_framework(request, pk)
    association = get_object_or_404(
        CompetencyAssociation.objects.select_related("framework", "origin", "destination"),
        framework=framework,
        pk=association_pk,
    )
    try:
        services.association_delete(association=association)
    except services.FrameworkError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Association removed: %(link)s.") % {"link": association})
    return redirect(_framework_url(framework) + "#associations")
