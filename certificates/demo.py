"""Demo certificates: a template and rule for the demo course, and one graduate holding one."""

import uuid
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files.images import ImageFile
from django.db import transaction
from wagtail.images import get_image_model

from certificates.links import verification_url
from certificates.models import Certificate, CertificateRule, CertificateTemplate
from courses import services as course_services
from courses.models import CoursePage, ModulePage
from lms.demo import DEMO_PASSWORD, DemoLogin
from lms.services import learner_profile_save

GRADUATE = "graduate"
#: The demo institution's emblem and its signatory's signature, drawn for the demo (the PNGs
#: are rendered from the SVGs next to them).
DEMO_IMAGES = Path(__file__).parent / "static" / "certificates" / "demo"


def demo_image(name: str, title: str):
    """The Wagtail image of a shipped demo picture (``logo``, ``signature``), made once."""
    image_model = get_image_model()
    image = image_model.objects.filter(title=title).first()
    if image is None:
        with (DEMO_IMAGES / f"{name}.png").open("rb") as handle:
            image = image_model.objects.create(title=title, file=ImageFile(handle, f"{name}.png"))
    return image


@transaction.atomic
def seed() -> list[DemoLogin]:
    """The demo certificate's template, rule and graduate; returns the graduate's login."""
    course = CoursePage.objects.filter(slug="case-management").first()
    if course is None:
        return []
    institution = course.institution
    template, _created = CertificateTemplate.objects.get_or_create(
        institution=institution,
        name="Standard certificate",
        defaults={
            "signatory_name": institution.signatory_name or "Director of Training",
            "signatory_title": institution.signatory_title or "Director of Training",
            "logo": demo_image("logo", "Demo institution emblem"),
            "signature": demo_image("signature", "Demo signatory's signature"),
        },
    )
    CertificateRule.objects.get_or_create(
        course=course,
        defaults={
            "template": template,
            "require_modules": True,
            "require_quizzes": True,
            "validity_months": 24,
        },
    )
    certificate = _seed_graduate(course)
    if certificate is None:
        return []
    print(  # noqa: T201 - the seed command's output, for whoever tries the demo
        f"Demo certificate {certificate.display_code} (held by '{GRADUATE}'): "
        f"{verification_url(certificate)}"
    )
    return [
        DemoLogin(
            GRADUATE,
            "",
            "trainee who finished the demo course",
            None,
            "/certificates/",
            "My certificates: a finished course's certificate (PDF, credential, share link)",
        )
    ]


def _seed_graduate(course: CoursePage) -> Certificate | None:
    """A learner who finished the demo course; finishing it issues the certificate."""
    user, created = get_user_model().objects.get_or_create(username=GRADUATE)
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
        learner_profile_save(
            user=user,
            full_name="Joseph Otieno",
            cadre="para_professional",
            is_paid=True,
            sector="ngo",
            organisation="Child Welfare Society",
            country="KE",
            region="Kisumu",
            district="Kisumu Central",
            worker_registration_number="PSW-2026-0117",
            preferred_language="en",
        )
        course_services.enrol(learner=user, course=course)
        for module in ModulePage.objects.child_of(course).live().order_by("path"):
            quiz = module.quiz_block()
            if quiz is None:
                course_services.module_complete(learner=user, module=module, event_id=uuid.uuid4())
            else:
                course_services.quiz_submit(
                    learner=user,
                    module=module,
                    answers=_right_answers(quiz),
                    event_id=uuid.uuid4(),
                )
    return Certificate.objects.filter(learner=user, course=course).first()


def _right_answers(quiz_block) -> dict[str, list[str]]:
    """What a learner who knows the material answers."""
    return {
        question.id: [
            answer.id
            for answer in question.value["answers"].bound_blocks
            if answer.value["is_correct"]
        ]
        for question in quiz_block.value["questions"].bound_blocks
    }
