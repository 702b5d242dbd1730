"""URLconf of the minimal host Wagtail site: ``wagtail start``'s URLs plus the LMS lines."""

from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from lms.api import api

urlpatterns = [
    path("django-admin/", admin.site.urls),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    # LMS: accounts (allauth, with MFA), the core app's pages and the JSON API.
    path("accounts/", include("allauth.urls")),
    path("", include("lms.app_urls")),
    path("", include("competencies.urls")),
    path("learn/", include("courses.urls")),
    path("", include("certificates.urls")),
    path("api/v1/", api.urls),
    # Wagtail serves every other path from the page tree; it stays last.
    path("", include(wagtail_urls)),
]
