"""Wagtail admin pages of the core app: an institution manager's API keys and webhooks."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from lms import selectors, services
from lms.forms import ApiKeyCreateForm, WebhookCreateForm
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


def webhooks(request):
    """List the manager's webhooks and add one; its signing secret is shown on this page once."""
    institutions = _managed_institutions(request)
    form = WebhookCreateForm(request.POST or None, institutions=institutions)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            webhook, new_secret = services.webhook_create(
                institution=form.cleaned_data["institution"],
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
            )
        except services.WebhookError as error:
            form.add_error("url", str(error))
        else:
            messages.success(
                request,
                _(
                    "Webhook to %(url)s added. Copy its signing secret now: it will not be shown "
                    "again."
                )
                % {"url": webhook.url},
            )
            form = WebhookCreateForm(institutions=institutions)
    return TemplateResponse(
        request,
        "lms/admin/webhooks.html",
        {
            "header_title": _("Webhooks"),
            "page_title": _("Webhooks"),
            "header_icon": "link-external",
            "form": form,
            "new_secret": new_secret,
            "webhooks": selectors.webhooks_for_manager(user=request.user),
        },
    )


def webhook_detail(request, pk: int):
    """One webhook and its latest deliveries: what was sent, how often, what went wrong."""
    _managed_institutions(request)
    webhook = get_object_or_404(selectors.webhooks_for_manager(user=request.user), pk=pk)
    return TemplateResponse(
        request,
        "lms/admin/webhook_detail.html",
        {
            "header_title": webhook.url,
            "page_title": _("Webhook"),
            "header_icon": "link-external",
            "webhook": webhook,
            "deliveries": selectors.webhook_recent_deliveries(webhook=webhook),
        },
    )


@require_POST
def webhook_toggle(request, pk: int):
    _managed_institutions(request)
    webhook = get_object_or_404(selectors.webhooks_for_manager(user=request.user), pk=pk)
    services.webhook_set_active(webhook=webhook, active=not webhook.active)
    if webhook.active:
        messages.success(request, _("Webhook to %(url)s resumed.") % {"url": webhook.url})
    else:
        messages.success(request, _("Webhook to %(url)s paused.") % {"url": webhook.url})
    return redirect("lms_webhooks")
