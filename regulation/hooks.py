"""Hooks into the core app: who is a regulator and of which jurisdiction, where regulators
land after signing in, and the demo data."""

from django.urls import reverse
from wagtail import hooks

from lms.jurisdiction import REGULATOR_JURISDICTION_HOOK, REGULATOR_USER_IDS_HOOK
from regulation import selectors


@hooks.register(REGULATOR_JURISDICTION_HOOK)
def body_members_regulate_its_jurisdiction(user):
    """The regulator role is membership of a body: its jurisdiction is what they read."""
    body = selectors.body_of(user=user)
    return selectors.jurisdiction_of(body=body) if body is not None else None


@hooks.register(REGULATOR_USER_IDS_HOOK)
def body_members():
    return selectors.regulator_user_ids()


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
