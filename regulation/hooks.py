"""Hooks into the core app: where regulators land after signing in, and the demo data."""

from django.urls import reverse
from wagtail import hooks

from regulation import selectors


@hooks.register("login_redirect_url")
def regulator_lands_on_workspace(request):
    """A member of a regulatory body lands on their workspace, not on the learner pages."""
    if selectors.body_of(user=request.user) is not None:
        return reverse("regulation:workspace")
    return None


@hooks.register("seed_demo_data", order=40)
def seed_regulation_demo():
    from regulation import demo

    demo.seed()


@hooks.register("learner_dashboard_panels")
def cpd_dashboard_panel(request):
    from regulation import cpd_views

    return cpd_views.dashboard_panel(request)
