"""Wagtail admin wiring of the competencies app: the framework editor and its menu item."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from competencies import admin_views as views
from competencies import recompute_views, selectors

framework_urls = [
    path("", views.framework_list, name="competencies_frameworks"),
    path("add/", views.framework_create, name="competencies_framework_create"),
    path("import/", views.framework_import, name="competencies_framework_import"),
    path("<int:pk>/", views.framework_detail, name="competencies_framework"),
    path("<int:pk>/edit/", views.framework_edit, name="competencies_framework_edit"),
    path("<int:pk>/delete/", views.framework_delete, name="competencies_framework_delete"),
    path("<int:pk>/scale/", views.scale_edit, name="competencies_scale_edit"),
    path("<int:pk>/publish/", views.framework_publish, name="competencies_framework_publish"),
    path("<int:pk>/retire/", views.framework_retire, name="competencies_framework_retire"),
    path(
        "<int:pk>/new-version/",
        views.framework_new_version,
        name="competencies_framework_new_version",
    ),
    path("<int:pk>/export/case.json", views.export_case, name="competencies_export_case"),
    path("<int:pk>/export/moodle.csv", views.export_moodle, name="competencies_export_moodle"),
    path("<int:pk>/items/add/", views.item_create, name="competencies_item_create"),
    path("<int:pk>/items/<int:item_pk>/edit/", views.item_edit, name="competencies_item_edit"),
    path("<int:pk>/items/<int:item_pk>/move/", views.item_move, name="competencies_item_move"),
    path("<int:pk>/items/<int:item_pk>/shift/", views.item_shift, name="competencies_item_shift"),
    path("<int:pk>/items/<int:item_pk>/rule/", views.item_rule, name="competencies_item_rule"),
    path(
        "<int:pk>/items/<int:item_pk>/delete/", views.item_delete, name="competencies_item_delete"
    ),
    path(
        "<int:pk>/associations/add/",
        views.association_create,
        name="competencies_association_create",
    ),
    path(
        "<int:pk>/associations/<int:association_pk>/delete/",
        views.association_delete,
        name="competencies_association_delete",
    ),
]


@hooks.register("register_admin_urls")
def register_framework_urls():
    return [
        path("competency-frameworks/", include(framework_urls)),
        path(
            "attainment-recomputations/<int:pk>/",
            recompute_views.recompute_detail,
            name="competencies_recompute",
        ),
    ]


class FrameworkAuthorMenuItem(MenuItem):
    def is_shown(self, request):
        return selectors.user_can_author_frameworks(user=request.user)


@hooks.register("register_admin_menu_item")
def register_frameworks_menu_item():
    return FrameworkAuthorMenuItem(
        _("Competency frameworks"),
        reverse("competencies_frameworks"),
        name="competency-frameworks",
        icon_name="list-ul",
        order=250,
    )


@hooks.register("seed_demo_data", order=10)
def seed_competencies_demo():
    """Demo frameworks come before the demo course, which is mapped to them."""
    from competencies import demo

    demo.seed()


@hooks.register("register_admin_viewset")
def register_competency_chooser():
    from competencies.viewsets import competency_chooser_viewset

    return competency_chooser_viewset


@hooks.register("learner_dashboard_panels")
def competencies_dashboard_panel(request):
    """A link to the learner's competency profile, with how many competencies they reached."""
    from django.template.loader import render_to_string

    reached, proficient = selectors.learner_attainment_counts(learner=request.user)
    return render_to_string(
        "competencies/dashboard_panel.html",
        {"reached": reached, "proficient": proficient},
        request=request,
    )
