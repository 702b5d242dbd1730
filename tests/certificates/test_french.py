"""Certificates in French: a PDF drawn from a French template, and the public verification
page for a browser that asks for French. Assertions are on the words a reader sees.

French typography puts a no-break space (U+00A0) before ":" and inside « »; the catalogue
uses it, so expected strings with those characters would need it too.
"""

import io
import re
from datetime import date

import pypdf
import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from certificates import services
from certificates.models import Certificate, CertificateRule, CertificateTemplate
from tests.learning import finish_course, pdf_text

pytestmark = pytest.mark.django_db

FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def french_date(day: date) -> str:
    """Django's French DATE_FORMAT, "j F Y": 5 novembre 2026."""
    return f"{day.day} {FRENCH_MONTHS[day.month - 1]} {day.year}"


def issue_dates(certificate) -> set[date]:
    """The day of issue, in UTC and in local time (they differ around midnight)."""
    return {certificate.issued_at.date(), timezone.localtime(certificate.issued_at).date()}


# --- Helpers as in test_issue.py --------------------------------------------------------------


def pdf_title(certificate) -> str:
    with default_storage.open(certificate.pdf.name, "rb") as handle:
        return pypdf.PdfReader(io.BytesIO(handle.read())).metadata.title


@pytest.fixture
def template(institution_a):
    return CertificateTemplate.objects.create(
        institution=institution_a,
        name="Modèle standard",
        signatory_name="Dr Aïssatou Diallo",
        signatory_title="Directrice de la formation",
        language="fr",
    )


@pytest.fixture
def rule(course, template):
    return CertificateRule.objects.create(
        course=course, template=template, require_modules=True, validity_months=24
    )


@pytest.fixture
def certificate(trainee, course, rule) -> Certificate:
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get(learner=trainee, course=course)
    assert certificate.is_ready, certificate.render_error
    assert certificate.language == "fr"
    return certificate


# --- The PDF ----------------------------------------------------------------------------------


def test_the_pdf_of_a_french_template_is_in_french(certificate, course):
    text = pdf_text(certificate)
    # The title is set in capitals by the stylesheet; the document title keeps its case.
    assert re.search(r"^Certificat$", text, re.IGNORECASE | re.MULTILINE), text
    assert pdf_title(certificate).startswith("Certificat\u00a0: "), pdf_title(certificate)
    assert "Nous certifions que" in text
    assert "a suivi avec succès" in text
    assert "Compétences certifiées" in text
    assert "Code du certificat" in text
    assert "Vérifier sur" in text
    assert "Délivré le" in text
    # What was certified is printed as it is, whatever the language.
    for expected in (certificate.holder_name, course.title, certificate.display_code):
        assert expected in text, expected

    # Dates are French: the month of issue and the expiry date, written out.
    assert any(FRENCH_MONTHS[day.month - 1] in text for day in issue_dates(certificate)), text
    assert any(french_date(day) in text for day in issue_dates(certificate)), text
    assert french_date(certificate.valid_until) in text, text
    assert not any(month in text for month in ENGLISH_MONTHS), text

    # No English left from the template.
    for english in ("This certifies that", "has successfully completed", "Certificate code"):
        assert english not in text, english


def test_the_pdf_of_an_english_template_stays_in_english(trainee, course, rule, template):
    template.language = "en"
    template.save()
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get(learner=trainee, course=course)
    text = pdf_text(certificate)
    assert "This certifies that" in text
    assert "Nous certifions que" not in text


# --- The verification page --------------------------------------------------------------------


def test_the_verification_page_speaks_french_from_accept_language(client, certificate):
    page = client.get(
        f"/verify/{certificate.display_code}/", HTTP_ACCEPT_LANGUAGE="fr-SN,fr;q=0.9"
    ).content.decode()
    assert '<html lang="fr">' in page
    assert "<h1>Vérifier un certificat</h1>" in page
    assert 'id="certificate-status">Valide</span>' in page
    assert "Délivré à" in page
    assert "Valable jusqu’au" in page
    assert french_date(certificate.valid_until) in page
    assert any(french_date(day) in page for day in issue_dates(certificate))
    assert "Code du certificat" in page
    assert ">Valid<" not in page and "Awarded to" not in page


def test_the_verification_page_speaks_french_from_the_language_cookie(
    client, certificate, people_a
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    services.certificate_revoke(
        certificate=certificate, actor=people_a.manager, reason="Délivré par erreur."
    )
    page = client.get(f"/verify/{certificate.display_code}/").content.decode()
    assert 'id="certificate-status">Révoqué</span>' in page
    assert "Révoqué le" in page and "Motif\u00a0: Délivré par erreur." in page


# --- Competencies in the framework's translation ----------------------------------------------


@pytest.fixture
def french_framework(published_framework, course):
    """A French translation of the course's framework: its own scale, and an item for each
    competency the course maps, linked to the original by CASE's ``isTranslationOf``."""
    from competencies import selectors as competency_selectors
    from competencies import services as competency_services
    from competencies.interchange.data import LevelData
    from competencies.models import AssociationType
    from courses import selectors as course_selectors

    french = competency_services.framework_create(
        title="Compétences des para-professionnels", creator="Institut Ubuntu", language="fr"
    )
    names = {1: "Débutant", 2: "En progrès", 3: "Compétent", 4: "Expert"}
    levels = list(published_framework.levels.order_by("order"))
    competency_services.scale_set(
        framework=french,
        levels=[
            LevelData(name=names.get(level.order, level.name), is_proficient=level.is_proficient)
            for level in levels
        ],
    )
    wording = {}
    for mapping in course_selectors.course_competencies(course=course):
        original = mapping.competency
        item = competency_services.item_create(
            framework=french,
            code=original.code,
            full_statement=f"Énoncé en français de {original.code}",
        )
        competency_services.association_create(
            origin=item,
            destination=original,
            association_type=AssociationType.IS_TRANSLATION_OF,
            framework=french,
        )
        wording[original.code] = item.full_statement
    competency_services.framework_publish(framework=french)
    assert competency_selectors.item_translations(
        item_ids=[m.competency_id for m in course_selectors.course_competencies(course=course)],
        language="fr",
    )
    return wording, {level.order: names.get(level.order, level.name) for level in levels}


def test_a_french_certificate_words_its_competencies_as_the_frameworks_french_translation(
    french_framework, trainee, course, rule
):
    wording, level_names = french_framework
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get(learner=trainee, course=course)
    printed = {item["code"]: item for item in certificate.competencies}
    assert {code: item["statement"] for code, item in printed.items()} == wording
    assert {item["level"] for item in printed.values()} <= set(level_names.values())
    text = pdf_text(certificate)
    for statement in wording.values():
        assert statement in text, statement


def test_an_english_certificate_keeps_the_original_wording_when_a_french_translation_exists(
    french_framework, trainee, course, rule, template
):
    wording, _levels = french_framework
    template.language = "en"
    template.save()
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get(learner=trainee, course=course)
    assert not {item["statement"] for item in certificate.competencies} & set(wording.values())
