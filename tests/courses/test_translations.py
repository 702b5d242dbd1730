"""Course content in the learner's language: a course translated into French is the same
course for progress, quizzes and certificates; the learner's preferred language picks the
translation; the demo has one; the certificate follows its template's language."""

import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from wagtail.models import Locale

from certificates import rendering
from certificates.models import Certificate, CertificateRule, CertificateTemplate
from courses.demo_french import translate_course
from courses.models import CoursePage, Enrolment, ModuleCompletion, ModulePage, QuizAttempt
from lms.models import LearnerProfile
from tests.learning import course_modules, right_answers

pytestmark = pytest.mark.django_db

FRENCH_TITLE = "La gestion de cas pour les para-professionnels"


@pytest.fixture
def french_course(course) -> CoursePage:
    return translate_course(course)


def log_in_french(client, learner):
    """Sign in a learner whose preferred language is French (the site is then in French)."""
    LearnerProfile.objects.filter(user=learner).update(preferred_language="fr")
    client.force_login(learner)


def finish_in_french(client, learner, french_course):
    """Enrol, complete the first module and pass the quiz, all on the French pages."""
    log_in_french(client, learner)
    first, second = course_modules(french_course)
    assert client.post(f"/learn/courses/{french_course.pk}/enrol/").status_code == 302
    assert client.post(f"/learn/modules/{first.pk}/complete/").status_code == 302
    response = client.post(
        f"/learn/modules/{second.pk}/quiz/",
        {f"q-{q}": answers for q, answers in right_answers(second).items()},
    )
    assert response.status_code == 302
    return first, second


def test_a_course_completed_on_its_french_pages_counts_once_for_the_original_course(
    client, trainee, course, french_course
):
    first_fr, second_fr = finish_in_french(client, trainee, french_course)
    first, second = course_modules(course)

    # The records name the original course and modules, once each.
    assert list(Enrolment.objects.filter(learner=trainee).values_list("course", flat=True)) == [
        course.pk
    ]
    assert set(
        ModuleCompletion.objects.filter(learner=trainee).values_list("module", flat=True)
    ) == {first.pk, second.pk}
    assert ModuleCompletion.objects.filter(learner=trainee).count() == 2
    assert list(QuizAttempt.objects.filter(learner=trainee).values_list("module", "passed")) == [
        (second.pk, True)
    ]
    # Same address, the site's language picks the translation; 100 % in both.
    french = client.get(course.url).content.decode()
    assert FRENCH_TITLE in french and "100" in french
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(course.url).content.decode()
    assert course.title in english and FRENCH_TITLE not in english and "100" in english


def test_the_french_quiz_shows_its_feedback_in_french(client, trainee, french_course):
    _first, second_fr = finish_in_french(client, trainee, french_course)
    attempt = QuizAttempt.objects.get(learner=trainee)

    page = client.get(f"{second_fr.url}?attempt={attempt.pk}").content.decode()

    assert "Oui : les plans faits ensemble sont suivis." in page


def test_an_english_course_page_offers_its_french_translation(client, trainee, french_course):
    client.force_login(trainee)

    page = client.get(french_course.url).content.decode()

    assert "Lire en français" in page
    assert 'name="language" type="hidden" value="fr"' in page


def test_a_module_not_translated_yet_is_listed_in_its_original_with_a_note(
    client, trainee, course, french_course
):
    first, _second = course_modules(course)
    first.get_translation(Locale.objects.get(language_code="fr")).delete()
    log_in_french(client, trainee)

    page = client.get(course.url).content.decode()
    module_page = client.get(first.url)

    assert FRENCH_TITLE in page
    assert "Opening a case" in page and "pas encore traduit" in page
    # The untranslated module is served in its original, with the note.
    assert module_page.status_code == 200
    assert "Opening a case" in module_page.content.decode()
    assert "pas encore traduite" in module_page.content.decode()


def test_the_preferred_language_switches_the_site_at_sign_in(client, trainee, french_course):
    LearnerProfile.objects.filter(user=trainee).update(preferred_language="fr")

    client.force_login(trainee)
    first = client.get(french_course.url)

    assert FRENCH_TITLE in first.content.decode()
    assert first.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    # The footer's switcher still changes it.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert FRENCH_TITLE not in client.get(french_course.url).content.decode()


def test_the_certificate_is_in_its_templates_language_whatever_the_page_language(
    client, trainee, course, french_course, institution_a
):
    template = CertificateTemplate.objects.create(
        institution=institution_a,
        name="Anglais",
        signatory_name="Grace Wanjiku",
        signatory_title="Director of Training",
        language="en",
    )
    CertificateRule.objects.create(course=course, template=template, require_modules=True)

    finish_in_french(client, trainee, french_course)

    certificate = Certificate.objects.get(learner=trainee, course=course)
    # The French course page shows the (original course's) certificate.
    assert "Votre certificat a été délivré" in client.get(course.url).content.decode()
    html = rendering.render_html(certificate=certificate, verification_url="https://x.test/v/1")
    assert "has successfully completed" in html and "a suivi avec succès" not in html
    template.language = "fr"
    template.save()
    certificate.language = "fr"
    html = rendering.render_html(certificate=certificate, verification_url="https://x.test/v/1")
    assert "a suivi avec succès" in html


def test_the_demo_has_the_course_in_french_with_its_quiz(capsys):
    call_command("seed_demo")
    capsys.readouterr()

    french = CoursePage.objects.live().get(locale__language_code="fr")
    original = CoursePage.objects.get(
        translation_key=french.translation_key, locale__language_code="en"
    )
    assert french.title == FRENCH_TITLE
    modules = list(ModulePage.objects.child_of(french).live().order_by("path"))
    assert [m.title for m in modules] == ["Ouvrir un dossier", "Planifier avec la famille"]
    quiz = modules[1].quiz_block().value
    assert (
        quiz["questions"][0]["text"] == "Qui doit convenir des objectifs d'un plan d'intervention ?"
    )
    assert (
        quiz["questions"][0]["answers"][1]["feedback"]
        == "Oui : les plans faits ensemble sont suivis."
    )
    # The quiz keeps the original's block ids: answers given in French score on the original.
    original_quiz = course_modules(original)[1].quiz_block().value
    assert [q.id for q in quiz["questions"].bound_blocks] == [
        q.id for q in original_quiz["questions"].bound_blocks
    ]


def test_a_translation_made_with_wagtail_localize_records_on_the_original(
    client, trainee, course, django_capture_on_commit_callbacks
):
    from wagtail_localize.models import TranslationSource

    french = Locale.objects.create(language_code="fr")
    # As the admin's "Translate" does (with the strings left untranslated); it publishes
    # once the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        source, _created = TranslationSource.get_or_create_from_instance(course)
        translated, _created = source.create_or_update_translation(
            french, copy_parent_pages=True, fallback=True
        )
        for module in course_modules(course):
            module_source, _created = TranslationSource.get_or_create_from_instance(module)
            module_source.create_or_update_translation(french, fallback=True)
    first_fr = course_modules(translated)[0]

    log_in_french(client, trainee)
    client.post(f"/learn/courses/{translated.pk}/enrol/")
    client.post(f"/learn/modules/{first_fr.pk}/complete/")

    first = course_modules(course)[0]
    assert list(ModuleCompletion.objects.values_list("learner", "module")) == [
        (trainee.pk, first.pk)
    ]
    assert client.get(course.url).status_code == 200


def test_a_learner_keeps_the_french_course_on_their_phone(client, trainee, french_course):
    finish_in_french(client, trainee, french_course)

    response = client.get(reverse("offline:course_manifest", args=[french_course.pk]))

    assert response.status_code == 200
    assert "Ouvrir un dossier" in response.content.decode()


def test_another_lms_may_name_the_french_pages_and_progress_lands_on_the_original(
    client, key_a, course, french_course
):
    """An LMS that links learners to the French pages knows their ids: events naming them
    (course and module) count for the original course, once."""
    from tests.courses.test_plugin_api import auth, learner_of, post

    learner = learner_of(client, key_a)
    first_fr, _second_fr = course_modules(french_course)
    first, _second = course_modules(course)
    batch = [
        {
            "id": str(uuid.uuid4()),
            "learner": "moodle-42",
            "verb": "enrolled",
            "course_id": french_course.pk,
        },
        {
            "id": str(uuid.uuid4()),
            "learner": "moodle-42",
            "verb": "completed",
            "module_id": first_fr.pk,
            "course_id": french_course.pk,
        },
    ]

    body = post(client, "/api/v1/progress/events", {"events": batch}, key_a).json()

    assert body["applied"] == 2, body
    assert list(Enrolment.objects.filter(learner=learner).values_list("course", flat=True)) == [
        course.pk
    ]
    assert list(
        ModuleCompletion.objects.filter(learner=learner).values_list("module", flat=True)
    ) == [first.pk]
    progress = client.get("/api/v1/learners/moodle-42/progress", **auth(key_a)).json()
    assert [m["module_id"] for m in progress["module_completions"]] == [first.pk]


def test_choosing_french_on_the_profile_switches_the_site_from_the_next_page(
    client, trainee, french_course
):
    client.force_login(trainee)
    profile = LearnerProfile.objects.get(user=trainee)
    form = client.get("/profile/").context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["preferred_language"] = "fr"

    response = client.post("/profile/", data)

    assert response.status_code == 302, response.context["form"].errors
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "fr"
    profile.refresh_from_db()
    assert profile.preferred_language == "fr"
    page = client.get(response.url).content.decode()
    assert "Votre profil a été enregistré." in page
    assert FRENCH_TITLE in client.get(french_course.url).content.decode()
