"""Learner actions of the courses app: ``path("learn/", include("courses.urls"))``."""

from django.urls import path

from courses import views

app_name = "courses"

urlpatterns = [
    path("courses/<int:course_id>/enrol/", views.enrol, name="enrol"),
    path("modules/<int:module_id>/complete/", views.module_complete, name="module_complete"),
    path("modules/<int:module_id>/quiz/", views.quiz_submit, name="quiz_submit"),
]

# Supervisors' pages (on the learning site: supervisors have no Wagtail admin access).
from courses import observation_views  # noqa: E402

urlpatterns += [
    path("observations/", observation_views.observation_list, name="observations"),
    path("observations/new/", observation_views.observation_new, name="observation_new"),
]
