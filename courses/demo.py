"""Demo content of courses: the catalogue at the site root, a section per institution, and a
course built on the demo competency framework."""

import json
import uuid

from django.db import transaction
from wagtail.models import Page, Site

from courses.models import CourseIndexPage, CoursePage, ModuleCompetency, ModulePage
from courses.services import institution_page_create
from lms.models import Institution


def _id() -> str:
    return str(uuid.uuid4())


def quiz_block(
    title: str, questions: list[tuple[str, str, list[tuple[str, bool, str]]]], pass_mark: int = 70
) -> dict:
    """Raw StreamField data for a quiz: (question, kind, [(answer, correct, feedback)])."""
    return {
        "type": "quiz",
        "id": _id(),
        "value": {
            "title": title,
            "pass_mark": pass_mark,
            "questions": [
                {
                    "type": "item",
                    "id": _id(),
                    "value": {
                        "text": text,
                        "kind": kind,
                        "answers": [
                            {
                                "type": "item",
                                "id": _id(),
                                "value": {"text": a, "is_correct": ok, "feedback": fb},
                            }
                            for a, ok, fb in answers
                        ],
                    },
                }
                for text, kind, answers in questions
            ],
        },
    }


def text_block(html: str) -> dict:
    return {"type": "text", "id": _id(), "value": html}


def callout_block(kind: str, title: str, html: str) -> dict:
    return {"type": "callout", "id": _id(), "value": {"kind": kind, "title": title, "body": html}}


def practice_block(title: str, html: str, code: str) -> dict:
    return {
        "type": "practice",
        "id": _id(),
        "value": {"title": title, "instructions": html, "competency_code": code},
    }


CASE_MANAGEMENT_MODULES = [
    (
        "Opening a case",
        "How to open a case file and record what you learn at the first visit.",
        [
            text_block(
                "<h2>Why a case file matters</h2><p>A case file keeps the child's story, the "
                "family's strengths and every agreed action in one place, so that help "
                "continues even when workers change.</p><ul><li>Record the child's name, age "
                "and where they live.</li><li>Write what the child and family told you, in "
                "their words.</li><li>Note the date of every contact.</li></ul>"
            ),
            callout_block(
                "scenario",
                "Meet Amani",
                "<p>Amani, 9, has missed school for three weeks. Her grandmother cares for "
                "her and her two brothers. A neighbour asks you to visit.</p>",
            ),
            practice_block(
                "Open a case file",
                "<p>With your supervisor, open a case file for a family you visit this week.</p>",
                "PP.5.1",
            ),
        ],
        [("PP.5.1", "Developing")],
    ),
    (
        "Planning with the family",
        "Set goals, actions and timelines together, then check your understanding.",
        [
            text_block(
                "<h2>A plan made together</h2><p>A case plan works when the family owns it. "
                "Agree two or three goals, who does what, and when you will meet again.</p>"
            ),
            callout_block(
                "warning",
                "Safety first",
                "<p>If a child is in immediate danger, act on the safety procedure before "
                "planning anything else.</p>",
            ),
            quiz_block(
                "Check your understanding",
                [
                    (
                        "Who should agree the goals of a case plan?",
                        "single",
                        [
                            ("The worker alone", False, "The family must own the plan."),
                            (
                                "The child, the family and the worker",
                                True,
                                "Yes: plans made together are followed.",
                            ),
                            ("The school", False, "The school may help, but does not decide."),
                        ],
                    ),
                    (
                        "Which belong in every case plan? (choose all that apply)",
                        "multiple",
                        [
                            ("Goals", True, ""),
                            ("Who does each action", True, ""),
                            ("The neighbour's opinion", False, "Not unless the family asks."),
                            ("When you will review the plan", True, ""),
                        ],
                    ),
                ],
            ),
        ],
        [("PP.5.2", "Competent"), ("PP.3.1", "Developing")],
    ),
]


@transaction.atomic
def seed() -> None:
    catalogue = CourseIndexPage.objects.first()
    if catalogue is None:
        root = Page.get_first_root_node()
        catalogue = CourseIndexPage(
            title="Courses for the social service workforce",
            slug="courses",
            intro=(
                "<p>Free, phone-friendly training for social workers, para-professionals and "
                "community volunteers who protect children and families.</p>"
            ),
        )
        root.add_child(instance=catalogue)
        catalogue.save_revision().publish()
        site = Site.objects.filter(is_default_site=True).first()
        old_home = site.root_page if site else None
        if site:
            site.root_page = catalogue
            site.site_name = "SSW Learning"
            site.save()
        else:
            Site.objects.create(
                hostname="localhost",
                port=80,
                root_page=catalogue,
                is_default_site=True,
                site_name="SSW Learning",
            )
        # Wagtail's "Welcome to your new Wagtail site!" page is no use to anyone.
        if old_home and old_home.specific_class is Page and old_home.depth == 2:
            old_home.delete()
    for institution in Institution.objects.filter(root_page__isnull=True):
        institution_page_create(institution=institution, catalogue=catalogue)
    from competencies.models import Framework

    framework = Framework.objects.filter(code="PSSW", status="published").first()
    institution = Institution.objects.filter(slug="ubuntu-institute").first()
    if framework and institution and not CoursePage.objects.exists():
        course = seed_course(institution=institution, framework=framework)
        _seed_progress(course)
        from courses.demo_french import translate_course

        translate_course(course)  # French, the demo's second language


def _seed_progress(course: CoursePage) -> None:
    """The demo trainee is enrolled and has finished the first module."""
    from django.contrib.auth import get_user_model

    from courses import services

    trainee = get_user_model().objects.filter(username="trainee").first()
    if trainee is None:
        return
    services.enrol(learner=trainee, course=course)
    first = ModulePage.objects.child_of(course).order_by("path").first()
    services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())


def seed_course(*, institution, framework) -> CoursePage:
    """Build the demo course in ``institution``'s section, mapped to ``framework``."""
    from competencies.models import CompetencyItem

    course = CoursePage(
        title="Case management for para-professionals",
        slug="case-management",
        summary=(
            "Open a case, plan with the family and follow up: the everyday work of a community "
            "case worker, in short lessons for your phone."
        ),
        estimated_minutes=90,
        cpd_hours=2,
        framework=framework,
    )
    institution.root_page.add_child(instance=course)
    course.save_revision().publish()
    levels = {level.name: level for level in framework.levels.all()}
    for title, summary, body, mappings in CASE_MANAGEMENT_MODULES:
        module = ModulePage(title=title, summary=summary, body=json.dumps(body))
        for code, level in mappings:
            module.competency_mappings.add(
                ModuleCompetency(
                    competency=CompetencyItem.objects.get(framework=framework, code=code),
                    target_level=levels[level],
                )
            )
        course.add_child(instance=module)
        module.save_revision().publish()
    return course
