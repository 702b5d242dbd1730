"""The regulation app's pages: ``path("", include("regulation.urls"))``."""

from django.urls import path

from regulation import views

app_name = "regulation"

urlpatterns = [
    path("regulation/", views.workspace, name="workspace"),
    path("regulation/heat-map/", views.heat_map, name="heat_map"),
    path("regulation/planning/", views.planning_view, name="planning"),
    path("regulation/planning/population/", views.population_upload, name="population_upload"),
    path("regulation/planning/target/", views.target_update, name="target_update"),
    path("register/", views.register_search, name="register"),
    path("register/<slug:body_slug>/", views.register_search, name="register_body"),
    path("regulation/export/<str:view>.<str:fmt>", views.export, name="export"),
]
