from django.template.loader import render_to_string
from wagtail import hooks

from courses import selectors
from courses.models import CourseIndexPage


@hooks.register("learner_dashboard_panels")
def courses_dashboard_panel(request):
    """The "My courses" section of a learner's dashboard."""
    catalogue = CourseIndexPage.objects.live().first()
    return render_to_string(
        "courses/dashboard_panel.html",
        {"catalogue": catalogue, "enrolments": selectors.learner_enrolments(user=request.user)},
        request=request,
    )


@hooks.register("seed_demo_data", order=20)
def seed_courses_demo():
    from courses import demo

    demo.seed()
