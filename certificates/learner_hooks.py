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


@hooks.register("course_finished_panels")
def certificate_of_finished_course(request, course):
    """At the end of a course: the certificate, that it is being prepared, or what else
    it requires (competencies, observations). Nothing for a course without one."""
    rule = selectors.certificate_rule_for(course=course)
    if rule is None:
        return ""
    certificate = selectors.active_certificate(learner=request.user, rule=rule)
    check = selectors.criteria_check(rule=rule, learner=request.user) if not certificate else None
    return render_to_string(
        "certificates/course_finished_panel.html",
        {"rule": rule, "certificate": certificate, "check": check},
        request=request,
    )


@hooks.register("seed_demo_data", order=30)
def seed_certificates_demo():
    return demo.seed()
