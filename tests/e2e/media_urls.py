"""The site's URLs, plus the uploaded media files (images) served as ``make run`` serves them:
the live server of the browser tests runs with ``DEBUG`` off, where the site leaves media to
the web server or the storage."""

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    path("", include("lms.urls")),
]
