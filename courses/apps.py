from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = _("Courses and learning")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the plugin API's router through the ``register_api_routers`` hook, and
        # tells competencies which modules are mapped to a competency (for its evidence rules,
        # "all mapped modules complete") through its ``competency_module_requirements`` hook.
        # Its tasks are registered, and a changed mapping or a page taken offline
        # recomputes attainment (courses.mapping_changes).
        from courses import (
            api,  # noqa: F401
            competency_requirements,  # noqa: F401
            mapping_changes,
            page_contexts,
            signals,
            tasks,
        )
        from courses.models import Enrolment

        page_contexts.register()
        signals.connect()
        signals.learners_enrolled.connect(
            tasks.xapi_replay_after_enrolment,
            sender=Enrolment,
            dispatch_uid="courses.xapi_replay_after_enrolment",
        )

        mapping_changes.connect()
        # The profile's preferred language becomes the site's at sign-in (courses.translations).
        from django.contrib.auth.signals import user_logged_in

        from courses import translations

        user_logged_in.connect(
            translations.remember_preferred_language, dispatch_uid="courses.preferred_language"
        )
        from wagtail.signals import page_published

        from courses.models import CourseIndexPage

        page_published.connect(
            translations.catalogue_published,
            sender=CourseIndexPage,
            dispatch_uid="courses.catalogue_published",
        )
