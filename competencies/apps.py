from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompetenciesConfig(AppConfig):
    name = "competencies"
    verbose_name = _("Competency frameworks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the app's API router through the ``register_api_routers`` hook.
        from competencies import api, signals  # noqa: F401 - api registers its router

        signals.connect()
