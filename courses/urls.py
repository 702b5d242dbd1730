"""Learner actions of the courses app: ``path("learn/", include("courses.urls"))``."""

from django.urls import path

from courses import views

app_name = "courses"

urlpatterns = [
    path("courses/<int:course_id>/enrol/", views.enrol, name="enrol"),
    path("modules/<int:module_id>/complete/", views.module_complete, name="module_complete"),
    path("modules/<int:module_id>/quiz/", views.quiz_submit, name="quiz_submit"),
]
