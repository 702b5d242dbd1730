from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegulationConfig(AppConfig):
    name = "regulation"
    verbose_name = _("Regulation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported once the apps are loaded: hooks registers the login landing, the demo
        # seed and the learner dashboard panel.
        from regulation import api, hooks, tasks  # noqa: F401
