"""The xAPI resources (an LRS for other LMSs), mounted at /xapi/."""

from django.urls import path

from courses import xapi_views

urlpatterns = [
    path("about", xapi_views.about, name="xapi-about"),
    path("statements", xapi_views.statements, name="xapi-statements"),
]
