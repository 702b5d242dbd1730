from django.template.loader import render_to_string
from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin import messages as admin_messages
from wagtail.admin.menu import MenuItem

from competencies import recompute
from courses import admin_views, selectors
from courses.models import CourseIndexPage


@hooks.register("learner_dashboard_panels")
def courses_dashboard_panel(request):
    """The "My courses" section of a learner's dashboard."""
    catalogue = CourseIndexPage.objects.live().first()
    return render_to_string(
        "courses/dashboard_panel.html",
        {"catalogue": catalogue, "enrolments": selectors.learner_enrolments(user=request.user)},
        request=request,
    )


@hooks.register("seed_demo_data", order=20)
def seed_courses_demo():
    from courses import demo

    demo.seed()


# --- Supervision and cohorts ----------------------------------------------------------------

#: How many observations the learner's dashboard lists, newest first.
DASHBOARD_OBSERVATIONS = 20


@hooks.register("learner_dashboard_panels")
def observations_dashboard_panel(request):
    """Supervisors' observations of the learner's practice, when there are any."""
    observations = list(selectors.observations_about(learner=request.user)[:DASHBOARD_OBSERVATIONS])
    if not observations:
        return ""
    return render_to_string(
        "courses/observation_dashboard_panel.html",
        {"observations": observations},
        request=request,
    )


@hooks.register("learner_dashboard_panels")
def supervision_dashboard_panel(request):
    """For supervisors: where to record an observation and find those recorded."""
    if not selectors.supervised_institutions(user=request.user):
        return ""
    return render_to_string("courses/observation_supervisor_panel.html", request=request)


cohort_urls = [
    path("", admin_views.cohort_list, name="courses_cohorts"),
    path("add/", admin_views.cohort_create, name="courses_cohort_create"),
    path("<int:pk>/", admin_views.cohort_detail, name="courses_cohort"),
    path("<int:pk>/enrol/", admin_views.cohort_enrol, name="courses_cohort_enrol"),
    path("<int:pk>/learners/upload/", admin_views.cohort_import, name="courses_cohort_import"),
    path(
        "<int:pk>/learners/learners.csv",
        admin_views.cohort_import_template,
        name="courses_cohort_import_template",
    ),
    path("<int:pk>/competencies/", admin_views.cohort_grid, name="courses_cohort_grid"),
    path("<int:pk>/competencies.csv", admin_views.cohort_grid_csv, name="courses_cohort_grid_csv"),
    path(
        "<int:pk>/competencies.xlsx",
        admin_views.cohort_grid_xlsx,
        name="courses_cohort_grid_xlsx",
    ),
]


@hooks.register("register_admin_urls")
def register_cohort_urls():
    return [
        path("cohorts/", include(cohort_urls)),
        path("prior-learning/", admin_views.prior_learning, name="courses_prior_learning"),
    ]


class CohortMenuItem(MenuItem):
    def is_shown(self, request):
        return bool(selectors.cohort_institutions(user=request.user))


@hooks.register("register_admin_menu_item")
def register_cohorts_menu_item():
    return CohortMenuItem(
        _("Cohorts"), reverse("courses_cohorts"), name="cohorts", icon_name="group", order=300
    )


@hooks.register("register_admin_menu_item")
def register_prior_learning_menu_item():
    return CohortMenuItem(
        _("Prior learning"),
        reverse("courses_prior_learning"),
        name="prior-learning",
        icon_name="doc-full-inverse",
        order=310,
    )


@hooks.register("after_publish_page")
def point_to_attainment_recompute(request, page):
    """A module published with other competencies, or a page taken offline, recomputes its
    learners' attainment by itself (courses.mapping_changes): say so, with a link to follow."""
    started = recompute.recompute_for_change(
        source_url=reverse("wagtailadmin_pages:edit", args=[page.pk]),
        requested_by=request.user,
        since=page.last_published_at,
    )
    if started is None:
        return
    admin_messages.info(
        request,
        _("The competencies of this module changed: its learners' attainment is recomputed."),
        buttons=[
            admin_messages.button(
                reverse("competencies_recompute", args=[started.pk]), _("Follow it")
            )
        ],
    )
