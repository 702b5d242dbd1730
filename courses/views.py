"""Learner actions on courses: enrol, complete a module, answer a quiz. Thin: each view
parses the form, calls a service and redirects back to the page (forms work without JS)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from courses import selectors, services
from courses.models import CoursePage, ModulePage
from courses.translations import source_page


def _event_id(request):
    """The form's client-generated event id; a missing one gets a fresh id (no retry safety)."""
    return request.POST.get("event_id") or uuid.uuid4()


def _learning_error(request, error: services.LearningError, page):
    response = TemplateResponse(
        request,
        "courses/learning_error.html",
        {"message": str(error), "page": page},
        status=error.status,
    )
    return response


@login_required
@require_POST
def enrol(request, course_id: int):
    page = get_object_or_404(CoursePage.objects.live(), pk=course_id)
    course = source_page(page)  # a translation's learners enrol in the original
    try:
        services.enrol(learner=request.user, course=course, event_id=_event_id(request))
    except services.LearningError as error:
        return _learning_error(request, error, page)
    messages.success(request, _("You are enrolled in “%s”.") % page.title)
    first = page.get_children().live().first()
    return redirect(first.url if first else page.url)


@login_required
@require_POST
def module_complete(request, module_id: int):
    page = get_object_or_404(ModulePage.objects.live(), pk=module_id)
    module = source_page(page)  # completing a translation completes the original
    try:
        services.module_complete(learner=request.user, module=module, event_id=_event_id(request))
    except services.LearningError as error:
        return _learning_error(request, error, page)
    if _course_finished(request, module):
        messages.success(
            request, _("Module complete. You have completed “%s”.") % page.course.title
        )
    else:
        messages.success(request, _("Module complete."))
    return _after_module(page)


@login_required
@require_POST
def quiz_submit(request, module_id: int):
    page = get_object_or_404(ModulePage.objects.live(), pk=module_id)
    module = source_page(page)  # a translation's quiz has the original's block ids
    answers: dict[str, list[str]] = {}
    for key in request.POST:
        if key.startswith("q-"):
            answers[key[2:]] = request.POST.getlist(key)
    try:
        result = services.quiz_submit(
            learner=request.user, module=module, answers=answers, event_id=_event_id(request)
        )
    except services.LearningError as error:
        return _learning_error(request, error, page)
    # A no-break space keeps the number and its "%" on one line on a narrow screen.
    score = f"{result.attempt.score:.0f}"
    if result.attempt.passed and _course_finished(request, module):
        messages.success(
            request,
            _("You passed with %(score)s\u00a0%%. You have completed “%(course)s”.")
            % {"score": score, "course": page.course.title},
        )
    elif result.attempt.passed:
        messages.success(request, _("You passed with %s\u00a0%%. Module complete.") % score)
    else:
        messages.warning(
            request, _("You scored %s\u00a0%%. Read the feedback and try again.") % score
        )
    return redirect(f"{page.url}?attempt={result.attempt.pk}#quiz")


def _course_finished(request, module: ModulePage) -> bool:
    """Whether the learner has now completed every required module of the module's course
    (the page then says so, with the certificate: courses/course_finished.html)."""
    return selectors.course_progress(course=module.course, user=request.user).is_complete


def _after_module(module: ModulePage) -> HttpResponse:
    following = module.get_next_siblings().live().first()
    return redirect(following.url if following else module.get_parent().url)
