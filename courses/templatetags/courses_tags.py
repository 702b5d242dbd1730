from django import template
from django.utils.safestring import mark_safe
from wagtail import hooks

register = template.Library()


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.simple_tag
def quiz_feedback(request, page):
    """Feedback on the learner's attempt named in ``?attempt=`` (their own only)."""
    from courses.models import QuizAttempt
    from courses.selectors import score_quiz
    from courses.translations import source_page

    attempt_id = request.GET.get("attempt", "")
    if not attempt_id.isdigit() or not request.user.is_authenticated:
        return {}
    attempt = QuizAttempt.objects.filter(
        pk=attempt_id, learner=request.user, module_id=source_page(page).pk
    ).first()
    quiz = page.quiz_block()
    if attempt is None or quiz is None:
        return {}
    try:
        return score_quiz(quiz, attempt.answers).feedback
    except Exception:  # noqa: BLE001 - the quiz changed since: show the page without feedback
        return {}


@register.simple_tag
def course_finished_panels(request, course):
    """What other apps show a learner who finished ``course`` (the ``course_finished_panels``
    hook: each function takes the request and the course and returns HTML, or "")."""
    from courses.translations import source_page

    course = source_page(course)  # a translation's certificate is the original course's
    panels = (panel(request, course) for panel in hooks.get_hooks("course_finished_panels"))
    return mark_safe("".join(panel for panel in panels if panel))  # noqa: S308 - templates' HTML
