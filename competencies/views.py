"""Learner-facing pages of the competencies app."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from competencies import selectors


@login_required
def competency_profile(request):
    """The learner's own competency profile: levels reached and the evidence behind them."""
    profiles = selectors.learner_competency_profile(learner=request.user)
    return render(request, "competencies/profile.html", {"profiles": profiles})
