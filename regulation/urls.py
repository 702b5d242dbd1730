"""The regulation app's pages: ``path("", include("regulation.urls"))``."""

from django.urls import path

from regulation import cpd_views, views

app_name = "regulation"

urlpatterns = [
    path("regulation/", views.workspace, name="workspace"),
    path("regulation/heat-map/", views.heat_map, name="heat_map"),
    path("regulation/planning/", views.planning_view, name="planning"),
    path("regulation/planning/population/", views.population_upload, name="population_upload"),
    path("regulation/planning/target/", views.target_update, name="target_update"),
    path("register/", views.register_search, name="register"),
    path("register/<slug:body_slug>/", views.register_search, name="register_body"),
    path("regulation/api-keys/", views.api_keys, name="api_keys"),
    path("regulation/cpd/", cpd_views.requirements, name="cpd_requirements"),
    path("cpd/", cpd_views.ledger, name="cpd_ledger"),
    path("cpd/evidence/<int:pk>/", cpd_views.evidence, name="cpd_evidence"),
    path("cpd/review/", cpd_views.review, name="cpd_review"),
    path("cpd/review/<int:pk>/approve/", cpd_views.approve, name="cpd_approve"),
    path("cpd/review/<int:pk>/reject/", cpd_views.reject, name="cpd_reject"),
    path("regulation/export/<str:view>.<str:fmt>", views.export, name="export"),
]
