"""Hooks into the core app: the learner's dashboard panel and the demo data.

(Admin wiring lives in ``wagtail_hooks.py``; these are imported by the app's ``ready()``.)
"""

from django.template.loader import render_to_string
from wagtail import hooks

from certificates import demo, selectors


@hooks.register("learner_dashboard_panels")
def certificates_dashboard_panel(request):
    """ "My certificates": download the PDF and credential, share the verification link."""
    certificates = list(selectors.learner_certificates(learner=request.user)[:20])
    if not certificates:
        return ""
    return render_to_string(
        "certificates/dashboard_panel.html", {"certificates": certificates}, request=request
    )


@hooks.register("seed_demo_data", order=30)
def seed_certificates_demo():
    return demo.seed()
