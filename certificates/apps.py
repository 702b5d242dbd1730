from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "certificates"
    verbose_name = _("Certificates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported once the apps are loaded, as Django asks of code that uses models:
        # api and learner_hooks register their Wagtail hooks; tasks registers the Celery
        # tasks that certificates.dispatch finds by name; checks registers the system checks.
        from certificates import api, checks, learner_hooks, signals, tasks  # noqa: F401

        signals.connect()
