"""The site as an installable web app with courses kept on the phone (courses.offline_views):
``path("", include("courses.offline_urls"))``. The service worker must be served from the
site's root to look after every page, hence one include at the root."""

from django.urls import path

from courses import offline_views

app_name = "offline"

urlpatterns = [
    path("sw.js", offline_views.service_worker, name="service_worker"),
    path("manifest.webmanifest", offline_views.web_app_manifest, name="web_app_manifest"),
    path("learn/offline/", offline_views.offline_page, name="page"),
    path(
        "learn/offline/courses/<int:course_id>/",
        offline_views.course_manifest,
        name="course_manifest",
    ),
    path("learn/offline/sync/", offline_views.sync, name="sync"),
]
