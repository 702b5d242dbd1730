"""Every kind of page tells the browser what it may do: Content-Security-Policy (strict on the
learner and public pages, looser in the admin sites, nothing at all for JSON) and
Permissions-Policy (no camera, microphone, location or payment anywhere).

Learner pages can be strict because they carry no inline script or style; the last test
checks that for each of them, since the browser would silently drop what the policy forbids.
"""

import re
from http import HTTPStatus

import pytest
from django.urls import reverse

from courses.models import ModulePage
from tests.factories import UserFactory
from tests.learning import finish_course

pytestmark = pytest.mark.django_db

STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'self'",
}
API = {"default-src": "'none'", "frame-ancestors": "'none'"}


def policy(response) -> dict[str, str]:
    """The response's Content-Security-Policy as {directive: sources}."""
    header = response["Content-Security-Policy"]
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value[0] if value else "" for name, *value in directives}


def assert_strict(response) -> None:
    got = policy(response)
    assert {name: got.get(name) for name in STRICT} == STRICT
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]


def assert_common_headers(response) -> None:
    assert response["Permissions-Policy"].startswith(
        "camera=(), microphone=(), geolocation=(), payment=()"
    )
    assert response["Referrer-Policy"] == "same-origin"


@pytest.fixture
def superuser(db):
    from tests.conftest import enable_totp

    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    enable_totp(user)
    return user


@pytest.mark.parametrize(
    "path", ["/", "/verify/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
)
def test_public_pages_carry_the_strict_policy(client, catalogue, path):
    response = client.get(path)
    assert response.status_code == HTTPStatus.OK
    assert_strict(response)
    assert_common_headers(response)


def test_the_learners_pages_carry_the_strict_policy(client, trainee, course):
    client.force_login(trainee)
    module = ModulePage.objects.child_of(course).first()
    for path in (course.url, module.url, "/learning/", "/profile/", "/certificates/"):
        response = client.get(path)
        assert response.status_code == HTTPStatus.OK, path
        assert_strict(response)
        assert_common_headers(response)


def test_a_redirect_and_an_error_page_carry_it_too(client, catalogue):
    response = client.get("/learning/")
    assert response.status_code == HTTPStatus.FOUND
    assert_strict(response)
    response = client.get("/no-such-page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert_strict(response)


def test_lesson_videos_may_play_in_their_frame_and_nothing_else_frames(client, catalogue):
    sources = policy(client.get("/"))["frame-src"].split()
    assert sources == [
        "'self'",
        "https://www.youtube.com",
        "https://www.youtube-nocookie.com",
        "https://player.vimeo.com",
    ]


def test_the_wagtail_admin_carries_the_admin_policy(client, people_a):
    client.force_login(people_a.author)
    response = client.get("/admin/")
    assert response.status_code == HTTPStatus.OK
    got = policy(response)
    # Wagtail's admin writes inline scripts and styles; everything still comes from here.
    assert got["script-src"] == "'self' 'unsafe-inline'"
    assert got["style-src"] == "'self' 'unsafe-inline'"
    assert got["img-src"] == "'self' data: blob:"
    assert (got["default-src"], got["object-src"], got["frame-ancestors"]) == (
        "'self'",
        "'none'",
        "'self'",
    )
    assert_common_headers(response)


def test_django_admin_carries_the_admin_policy(client, superuser):
    client.force_login(superuser)
    response = client.get("/django-admin/")
    assert response.status_code == HTTPStatus.OK
    assert policy(response)["script-src"] == "'self' 'unsafe-inline'"
    assert policy(response)["object-src"] == "'none'"
    assert_common_headers(response)


def test_json_answers_load_nothing_and_are_never_framed(client, catalogue, key_a):
    _, secret = key_a
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    for path, headers in [
        ("/api/v1/me", auth),
        ("/api/v1/openapi.json", {}),
        ("/xapi/about", {}),
        ("/ims/case/v1p1/CFDocuments", {}),
    ]:
        response = client.get(path, **headers)
        assert response.status_code == HTTPStatus.OK, path
        assert response["Content-Type"].startswith("application/json"), path
        assert policy(response) == API, path
        assert_common_headers(response)


def test_the_api_documentation_loads_swagger_from_this_site(client, catalogue):
    response = client.get("/api/v1/docs")
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page
    got = policy(response)
    assert (got["script-src"], got["default-src"]) == ("'self'", "'self'")


#: A script written into the page (not one loaded from a file, nor a JSON data block), an
#: inline style sheet or a style attribute.
INLINE = re.compile(r'<script(?![^>]*(\ssrc=|type="application/json"))|<style|\sstyle=', re.I)


def test_learner_pages_have_no_inline_script_or_style(client, trainee, course, published_framework):
    """The strict policy would drop them: each must live in a static file instead."""
    client.force_login(trainee)
    finish_course(trainee, course)  # the competency profile then lists its tree
    pages = [
        "/",
        course.url,
        *(module.url for module in ModulePage.objects.child_of(course)),
        "/learning/",
        reverse("competencies_learner_profile"),
        "/profile/",
        "/certificates/",
        "/verify/",
        "/accounts/email/",
        "/accounts/password/change/",
    ]
    for path in pages:
        html = client.get(path).content.decode()
        assert not INLINE.search(html), f"{path}: {INLINE.search(html).group(0)!r}"
