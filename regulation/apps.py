from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegulationConfig(AppConfig):
    name = "regulation"
    verbose_name = _("Regulation")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Imported once the apps are loaded: hooks registers who is a regulator (and of
        # which jurisdiction), the login landing, the demo seed and the learner dashboard
        # panel; checks registers the system check of former regulators without a body.
        from regulation import api, checks, hooks, tasks  # noqa: F401
