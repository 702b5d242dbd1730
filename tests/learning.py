"""Learning through the real services, for tests: a course's modules, a quiz's right and
wrong answers, finishing a course, and the text of a stored PDF."""

import io
import uuid

import pypdf
from django.core.files.storage import default_storage

from courses import services as course_services
from courses.models import ModulePage


def course_modules(course) -> list[ModulePage]:
    """The course's live modules, in the order learners take them."""
    return list(ModulePage.objects.child_of(course).live().order_by("path"))


def _answers(module, *, correct: bool) -> dict[str, list[str]]:
    return {
        question.id: [
            answer.id
            for answer in question.value["answers"].bound_blocks
            if answer.value["is_correct"] is correct
        ][: None if correct else 1]
        for question in module.quiz_block().value["questions"].bound_blocks
    }


def right_answers(module) -> dict[str, list[str]]:
    """Every right answer of each question of the module's quiz."""
    return _answers(module, correct=True)


def wrong_answers(module) -> dict[str, list[str]]:
    """One wrong answer to each question of the module's quiz."""
    return _answers(module, correct=False)


def finish_course(learner, course, *, on_commit: bool = False) -> None:
    """Enrol and finish every module (quizzes with the right answers, each passed).

    ``on_commit``: run what waits for the commit (rendering, e-mail) at the end, as after
    the real commit of a learner's request.
    """
    from django.test import TestCase

    if on_commit:
        with TestCase.captureOnCommitCallbacks(execute=True):
            finish_course(learner, course)
        return
    course_services.enrol(learner=learner, course=course)
    for module in course_modules(course):
        if module.quiz_block() is None:
            course_services.module_complete(learner=learner, module=module, event_id=uuid.uuid4())
        else:
            result = course_services.quiz_submit(
                learner=learner, module=module, answers=right_answers(module), event_id=uuid.uuid4()
            )
            assert result.attempt.passed, f"the quiz of {module.title} was not passed"


def pdf_text(certificate) -> str:
    """The text of a certificate's stored PDF, page after page."""
    with default_storage.open(certificate.pdf.name, "rb") as handle:
        reader = pypdf.PdfReader(io.BytesIO(handle.read()))
    return "\n".join(page.extract_text() for page in reader.pages)
