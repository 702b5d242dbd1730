"""The site as an installable web app, and a learner's courses on the phone (see
:mod:`courses.offline`): the web app manifest, the service worker, the page shown offline
for a page not kept, what to keep of a course, and the door queued actions come back by."""

from http import HTTPStatus

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from courses import offline
from courses.app_settings import app_settings
from courses.models import CoursePage
from lms.json_input import JsonInputError, loads

#: The header bar's colour (lms/static/lms/site.css): the phone's status bar matches it.
THEME_COLOUR = "#0b3d66"


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@require_GET
def web_app_manifest(request):
    """What a phone needs to install the site: name, icons, colours, where it opens."""
    manifest = {
        "name": _("SSW Learning"),
        "short_name": _("SSW Learning"),
        "description": _("Training for the social service workforce, on your phone."),
        "lang": get_language(),
        "start_url": reverse("lms:dashboard"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#fafafa",
        "theme_color": THEME_COLOUR,
        "icons": [
            {
                "src": static(f"courses/offline/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any maskable",
            }
            for size in (192, 512)
        ]
        + [{"src": static("courses/offline/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
    }
    return JsonResponse(manifest, content_type="application/manifest+json")


@require_GET
@never_cache
def service_worker(request):
    """The service worker, from the site's root so that it may serve every page.

    It is a template only to learn the addresses of the static files it keeps (their names
    carry a hash in production), of the pages it falls back to, and how long it waits for a
    network that looks connected (``OFFLINE_NETWORK_TIMEOUT``); browsers check it for
    changes on every visit (``never_cache``).
    """
    script = render_to_string(
        "courses/offline/sw.js",
        {
            "shell": [static("lms/site.css"), static("courses/offline/offline.js")],
            "queue_script": static("courses/offline/queue.js"),
            "offline_page": reverse("offline:page"),
            "sync_url": reverse("offline:sync"),
            "timeout_ms": round(app_settings.OFFLINE_NETWORK_TIMEOUT * 1000),
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
def offline_page(request):
    """Shown by the service worker, offline, for a page this phone does not keep."""
    return TemplateResponse(request, "courses/offline/offline_page.html", {})


@require_GET
@never_cache
def course_manifest(request, course_id: int):
    """What a phone keeps of a course (JSON): only for a learner enrolled in it."""
    if not request.user.is_authenticated:
        return _json_error(_("Log in to keep a course on your phone."), HTTPStatus.UNAUTHORIZED)
    course = get_object_or_404(CoursePage.objects.live(), pk=course_id)
    if not offline.learner_may_keep(learner=request.user, course=course):
        return _json_error(
            _("Enrol in this course to keep it on your phone."), HTTPStatus.FORBIDDEN
        )
    return JsonResponse(offline.course_offline_manifest(course=course, request=request))


@require_POST
@never_cache
def sync(request):
    """Apply a phone's queued actions (JSON) for the learner logged in; CSRF-checked as any
    form. Answers one result per action, in order."""
    if not request.user.is_authenticated:
        return _json_error(_("Log in to send what you did offline."), HTTPStatus.UNAUTHORIZED)
    try:
        events = offline.offline_events_read(loads(request.body), learner=request.user)
    except JsonInputError as error:
        return _json_error(_("The request's body %s") % error, HTTPStatus.BAD_REQUEST)
    except offline.OfflineError as error:
        return _json_error(str(error), error.status)
    outcomes = offline.offline_events_apply(learner=request.user, events=events)
    return JsonResponse({"results": [outcome.as_json() for outcome in outcomes]})
