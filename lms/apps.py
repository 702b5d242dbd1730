from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class LmsConfig(AppConfig):
    default = True
    name = "lms"
    verbose_name = _("Institutions and people")
    default_auto_field = "django.db.models.BigAutoField"


class SuperuserOnlyAdminConfig(admin_apps.AdminConfig):
    """Django's admin is for superusers only; staff work in the Wagtail admin."""

    default = False
    default_site = "lms.admin.SuperuserOnlyAdminSite"
