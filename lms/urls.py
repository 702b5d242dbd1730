from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from lms import views
from lms.api import api

urlpatterns = [
    path("django-admin/", admin.site.urls),
    # Wagtail's own log-in form would sign people in without their second factor: its URL
    # leads to allauth's log-in instead (WAGTAILADMIN_LOGIN_URL sends everyone else there).
    path("admin/login/", views.admin_login),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("xapi/", include("courses.xapi_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("lms.app_urls")),
    path("", include("competencies.urls")),
    path("learn/", include("courses.urls")),
    path("", include("courses.offline_urls")),
    path("", include("certificates.urls")),
    path("", include("regulation.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail serves every other path from the page tree; it must stay last.
urlpatterns.append(path("", include(wagtail_urls)))
