"""Wagtail admin wiring: a regulator who opens the admin finds the way to their workspace."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from regulation import selectors


class WorkspaceMenuItem(MenuItem):
    def is_shown(self, request):
        return selectors.body_of(user=request.user) is not None


@hooks.register("register_admin_menu_item")
def regulator_workspace_menu_item():
    return WorkspaceMenuItem(
        _("Regulator workspace"), reverse("regulation:workspace"), icon_name="table", order=50
    )
