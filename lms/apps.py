from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class LmsConfig(AppConfig):
    default = True
    name = "lms"
    verbose_name = _("Institutions and people")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from allauth.mfa.signals import authenticator_added

        from lms import checks  # noqa: F401 - registers the app's system checks
        from lms.second_factor import record_activation

        authenticator_added.connect(record_activation, dispatch_uid="lms.second_factor")


class SuperuserOnlyAdminConfig(admin_apps.AdminConfig):
    """Django's admin is for superusers only; staff work in the Wagtail admin."""

    default = False
    default_site = "lms.admin.SuperuserOnlyAdminSite"
