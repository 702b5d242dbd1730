"""The learner interface in French: dashboard, profile, a module with its quiz, and the footer's
language switch back to English. Assertions are on the strings a learner sees.

French typography puts a no-break space (U+00A0) before ":" "?" "%" and inside « »; the
catalogues use it, so the expected strings below do too.
"""

import uuid

import pytest
from django.conf import settings
from django.urls import reverse

from courses import services
from courses.models import ModulePage

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


@pytest.fixture
def french(client):
    """A browser that chose French (the cookie the footer's language form sets)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    return client


def modules(course):
    return list(ModulePage.objects.child_of(course).order_by("path"))


def test_dashboard_in_french(french, trainee, catalogue):
    french.force_login(trainee)
    page = french.get(reverse("lms:dashboard")).content.decode()
    assert '<html lang="fr">' in page
    assert "<h1>Mes formations</h1>" in page
    assert "Bienvenue, Amina Njoroge (Para-professionnel)." in page
    assert "Mes cours" in page
    assert "Vous n’êtes encore inscrit(e) à aucun cours." in page
    assert "Parcourir le catalogue des cours" in page
    # Header and footer.
    assert ">Profil</a>" in page and "Déconnexion" in page
    assert ">Langue</label>" in page and ">Changer</button>" in page
    assert "My learning" not in page and "My courses" not in page


def test_dashboard_in_french_from_accept_language(client, trainee):
    client.force_login(trainee)
    page = client.get(reverse("lms:dashboard"), HTTP_ACCEPT_LANGUAGE="fr-SN,fr;q=0.9").content
    assert "Mes formations" in page.decode()


def test_profile_form_in_french(french, trainee):
    french.force_login(trainee)
    page = french.get(reverse("lms:profile")).content.decode()
    assert "<h1>Votre profil</h1>" in page
    for label in (
        "Nom complet",
        "Catégorie de travailleur",
        "Je suis rémunéré(e) pour ce travail",
        "Secteur",
        "Organisation",
        "Pays",
        "Région ou province",
        "Numéro d’enregistrement professionnel",
        "Langue préférée",
    ):
        assert f">{label}" in page, label
    for choice in ("Professionnel", "Para-professionnel", "Bénévole", "Administration publique"):
        assert choice in page, choice
    assert "Tel qu’il doit figurer sur vos certificats." in page
    assert "Enregistrer le profil" in page
    assert "Full name" not in page and "Save profile" not in page

    response = french.post(
        reverse("lms:profile"),
        {
            "full_name": "Awa Diop",
            "cadre": "volunteer",
            "sector": "community",
            "country": "Sénégal",
            "preferred_language": "fr",
        },
    )
    assert "Saisissez le code pays à deux lettres, par exemple SN pour le Sénégal." in (
        response.content.decode()
    )


def test_module_page_quiz_and_progress_in_french(french, trainee, course):
    services.enrol(learner=trainee, course=course)
    first, second = modules(course)
    french.force_login(trainee)

    page = french.get(first.url).content.decode()
    assert '<html lang="fr">' in page
    assert f"0{NBSP}% du cours terminé" in page
    assert "Marquer ce module comme terminé" in page
    assert "Activité pratique" in page
    assert "Votre superviseur l’enregistre" in page

    page = french.get(second.url).content.decode()
    assert '<html lang="fr">' in page
    assert f"0{NBSP}% du cours terminé" in page
    assert ">Envoyer mes réponses</button>" in page
    assert f"Seuil de réussite{NBSP}: 70{NBSP}%." in page
    assert "Réussissez le quiz pour terminer ce module." in page
    assert "Compétences de ce module" in page
    assert "Retour au cours" in page
    assert "Submit answers" not in page and "of the course complete" not in page

    quiz = second.quiz_block()
    wrong = {
        f"q-{question.id}": [
            next(a.id for a in question.value["answers"].bound_blocks if not a.value["is_correct"])
        ]
        for question in quiz.value["questions"].bound_blocks
    }
    response = french.post(
        reverse("courses:quiz_submit", args=[second.pk]),
        {**wrong, "event_id": str(uuid.uuid4())},
        follow=True,
    )
    page = response.content.decode()
    assert f"Votre score{NBSP}: 0{NBSP}%. Lisez les commentaires et réessayez." in page
    assert "✗ Pas tout à fait." in page


def test_course_page_in_french(french, trainee, course):
    french.force_login(trainee)
    page = french.get(course.url).content.decode()
    assert "S’inscrire à ce cours" in page
    assert f"Environ 90 minutes · 2,0{NBSP}h de formation continue" in page  # French decimal
    assert "Compétences que vous développez" in page

    response = french.post(
        reverse("courses:enrol", args=[course.pk]), {"event_id": str(uuid.uuid4())}, follow=True
    )
    page = response.content.decode()
    title = "Case management for para-professionals"
    assert f"Vous êtes inscrit(e) au cours «{NBSP}{title}{NBSP}»." in page


def test_french_learner_switches_back_to_english(french, trainee):
    french.force_login(trainee)
    dashboard = reverse("lms:dashboard")
    page = french.get(dashboard).content.decode()
    assert "Mes formations" in page
    set_language = reverse("set_language")
    assert f'action="{set_language}"' in page
    assert '<option value="en">Anglais</option>' in page
    assert '<option value="fr" selected>Français</option>' in page

    response = french.post(set_language, {"language": "en", "next": dashboard})
    assert response.status_code == 302 and response["Location"] == dashboard
    assert french.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    page = french.get(response["Location"]).content.decode()
    assert '<html lang="en">' in page
    assert "<h1>My learning</h1>" in page
    assert "My courses" in page and "You are not enrolled in any course yet." in page
    assert '<option value="en" selected>English</option>' in page
    assert "Mes formations" not in page
