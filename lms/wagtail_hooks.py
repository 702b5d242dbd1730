"""Wagtail admin wiring of the core app."""

from django.templatetags.static import static
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from lms import admin_views, selectors
from lms.roles import InstitutionRole


@hooks.register("insert_global_admin_css")
def admin_css():
    """The project's admin styles: wide tables that scroll, codes that do not wrap."""
    return format_html('<link rel="stylesheet" href="{}">', static("lms/admin.css"))


@hooks.register("register_admin_urls")
def register_api_key_urls():
    return [
        path("api-keys/", admin_views.api_keys, name="lms_api_keys"),
        path("api-keys/<int:pk>/revoke/", admin_views.api_key_revoke, name="lms_api_key_revoke"),
        path("webhooks/", admin_views.webhooks, name="lms_webhooks"),
        path("webhooks/<int:pk>/", admin_views.webhook_detail, name="lms_webhook"),
        path("webhooks/<int:pk>/toggle/", admin_views.webhook_toggle, name="lms_webhook_toggle"),
    ]


class ManagerMenuItem(MenuItem):
    def is_shown(self, request):
        return selectors.user_institutions(user=request.user, role=InstitutionRole.MANAGER).exists()


@hooks.register("register_settings_menu_item")
def register_api_keys_menu_item():
    return ManagerMenuItem(_("API keys"), reverse("lms_api_keys"), icon_name="key", order=900)


@hooks.register("register_settings_menu_item")
def register_webhooks_menu_item():
    return ManagerMenuItem(
        _("Webhooks"), reverse("lms_webhooks"), icon_name="link-external", order=910
    )
