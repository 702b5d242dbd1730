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

        from lms import checks, signals, tasks  # noqa: F401 - checks registers system checks
        from lms.models import WebhookDelivery
        from lms.second_factor import record_activation

        authenticator_added.connect(record_activation, dispatch_uid="lms.second_factor")
        signals.connect()
        signals.webhook_deliveries_logged.connect(
            tasks.deliveries_send_after_commit,
            sender=WebhookDelivery,
            dispatch_uid="lms.deliveries_send_after_commit",
        )


class SuperuserOnlyAdminConfig(admin_apps.AdminConfig):
    """Django's admin is for superusers only; staff work in the Wagtail admin."""

    default = False
    default_site = "lms.admin.SuperuserOnlyAdminSite"
