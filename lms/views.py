"""Pages of the core app. Thin: parse, call a service or selector, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from wagtail import hooks

from lms import selectors, services
from lms.forms import LearnerProfileForm
from lms.languages import language_cookie_set


@login_required
def profile(request):
    """The learner's worker profile: completed after sign-up, editable at any time."""
    instance = selectors.learner_profile_for(user=request.user)
    form = LearnerProfileForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        services.learner_profile_save(user=request.user, **form.cleaned_data)
        # A language chosen here is the site's from the next page on (at sign-in too).
        language = translation.get_language()
        if instance is None or "preferred_language" in form.changed_data:
            language = form.cleaned_data["preferred_language"]
        with translation.override(language):
            messages.success(request, _("Your profile has been saved."))
        next_url = request.POST.get("next") or request.GET.get("next")
        if not (next_url and url_has_allowed_host_and_scheme(next_url, {request.get_host()})):
            next_url = reverse("lms:profile")
        response = redirect(next_url)
        if language != translation.get_language():
            language_cookie_set(response, language)
        return response
    return render(
        request,
        "lms/profile.html",
        {"form": form, "is_new": instance is None, "next": request.GET.get("next", "")},
    )


@login_required
def dashboard(request):
    """'My learning': the trainee's courses, progress and certificates."""
    profile = selectors.learner_profile_for(user=request.user)
    if (
        profile is None
        and not request.user.memberships.exists()
        and not selectors.user_is_regulator(user=request.user)
    ):
        return redirect("lms:profile")
    # Each installed app adds its own section (courses, competencies, certificates) through
    # the ``learner_dashboard_panels`` hook; the core app knows none of them.
    panels = [
        mark_safe(html)  # noqa: S308 - panels are rendered by our own templates
        for panel in hooks.get_hooks("learner_dashboard_panels")
        if (html := panel(request))
    ]
    return render(
        request,
        "lms/dashboard.html",
        {"profile": profile, "roles": selectors.user_roles(user=request.user), "panels": panels},
    )


def admin_login(request):
    """Where Wagtail's log-in page was: allauth's log-in, which asks for the second factor.

    No form here ever signs anyone in, whatever is posted to it.
    """
    if request.user.is_authenticated:
        return redirect("wagtailadmin_home")
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = reverse("wagtailadmin_home")
    return redirect_to_login(next_url)
