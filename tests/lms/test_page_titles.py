"""Every page has its own title in the project's layout; a host site's layout gets the same
titles through its ``title`` block (tests/pluggable_host)."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def title_of(response) -> str:
    match = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
    assert match, response.content.decode()[:1500]
    return " ".join(match.group(1).split())


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("/", "Courses · SSW Learning"),
        (reverse("certificates:verify"), "Verify a certificate · SSW Learning"),
        (reverse("account_login"), "Sign In · SSW Learning"),
        (reverse("account_signup"), "Signup · SSW Learning"),
    ],
)
def test_pages_are_titled_in_the_projects_layout(client, catalogue, url, title):
    response = client.get(url)

    assert response.status_code == 200
    assert title_of(response) == title


def test_a_learners_dashboard_is_titled(client, people_a):
    client.force_login(people_a.trainee)

    response = client.get(reverse("lms:dashboard"))

    assert response.status_code == 200
    assert title_of(response) == "My learning · SSW Learning"
