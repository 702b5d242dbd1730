from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)


@register.simple_tag
def quiz_feedback(request, page):
    """Feedback on the learner's attempt named in ``?attempt=`` (their own only)."""
    from courses.models import QuizAttempt
    from courses.selectors import score_quiz

    attempt_id = request.GET.get("attempt", "")
    if not attempt_id.isdigit() or not request.user.is_authenticated:
        return {}
    attempt = QuizAttempt.objects.filter(
        pk=attempt_id, learner=request.user, module_id=page.pk
    ).first()
    quiz = page.quiz_block()
    if attempt is None or quiz is None:
        return {}
    try:
        return score_quiz(quiz, attempt.answers).feedback
    except Exception:  # noqa: BLE001 - the quiz changed since: show the page without feedback
        return {}
