"""The learner's competency profile and its dashboard panel speak French too."""

import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from courses import services
from courses.models import ModulePage

pytestmark = pytest.mark.django_db


def test_competency_profile_in_french(client, trainee, course):
    services.enrol(learner=trainee, course=course)
    first = ModulePage.objects.child_of(course).order_by("path").first()
    services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())
    client.force_login(trainee)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"

    dashboard = client.get(reverse("lms:dashboard")).content.decode()
    assert "Mes compétences" in dashboard
    assert "Voir mon profil de compétences" in dashboard

    profile = client.get("/learning/competencies/").content.decode()
    assert '<html lang="fr">' in profile
    assert "1 compétence atteinte" in profile
    assert "Module terminé" in profile or "Opening a case" in profile
