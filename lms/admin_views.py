"""Wagtail admin pages of the core app: an institution manager's API keys."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lms import selectors, services
from lms.forms import ApiKeyCreateForm
from lms.roles import InstitutionRole


def _managed_institutions(request):
    institutions = selectors.user_institutions(user=request.user, role=InstitutionRole.MANAGER)
    if not institutions.exists():
        raise PermissionDenied(_("Only institution managers can manage API keys."))
    return institutions


def api_keys(request):
    """List the manager's keys and create a new one; its secret is shown on this page once."""
    institutions = _managed_institutions(request)
    form = ApiKeyCreateForm(request.POST or None, institutions=institutions)
    new_key = None
    if request.method == "POST" and form.is_valid():
        api_key, new_key = services.api_key_create(
            institution=form.cleaned_data["institution"],
            name=form.cleaned_data["name"],
            created_by=request.user,
        )
        messages.success(
            request,
            _("API key “%(name)s” created. Copy it now: it will not be shown again.")
            % {"name": api_key.name},
        )
        form = ApiKeyCreateForm(institutions=institutions)
    return TemplateResponse(
        request,
        "lms/admin/api_keys.html",
        {
            "header_title": _("API keys"),
            "page_title": _("API keys"),
            "header_icon": "key",
            "form": form,
            "new_key": new_key,
            "api_keys": selectors.api_keys_for_manager(user=request.user),
        },
    )


@require_POST
def api_key_revoke(request, pk: int):
    api_key = get_object_or_404(selectors.api_keys_for_manager(user=request.user), pk=pk)
    services.api_key_revoke(api_key=api_key, revoked_by=request.user)
    messages.success(request, _("API key “%(name)s” revoked.") % {"name": api_key.name})
    return redirect("lms_api_keys")
