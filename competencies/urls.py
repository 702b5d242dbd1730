"""Public URLs of the competencies app, for any site: ``path("", include("competencies.urls"))``."""

from django.urls import path

from competencies import views
from competencies.api import case_api

urlpatterns = [
    path("ims/case/v1p1/", case_api.urls),
    path("learning/competencies/", views.competency_profile, name="competencies_learner_profile"),
]
