"""The core app's pages, for any Wagtail site: ``path("", include("lms.app_urls"))``."""

from django.urls import path

from lms import views

app_name = "lms"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("learning/", views.dashboard, name="dashboard"),
]
