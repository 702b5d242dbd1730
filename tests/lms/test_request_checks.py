"""A NUL character in what any page reads without a form is refused before a query sees it."""

from http import HTTPStatus

import pytest

pytestmark = pytest.mark.django_db

REFUSAL = "The request holds a NUL character"


@pytest.mark.parametrize("cookie", ["sessionid", "csrftoken", "django_language"])
def test_a_nul_in_a_cookie_is_refused_before_the_session_is_read(client, catalogue, cookie):
    client.cookies[cookie] = "abcdefghijklmnop\x00qrs"
    response = client.get("/")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert REFUSAL in response.content.decode()


@pytest.mark.parametrize(
    "url", ["/?q=%00", "/verify/?code=AB%00CD", "/admin/pages/search/?q=a%00", "/learn/%00/"]
)
def test_a_nul_in_a_page_s_path_or_query_is_refused(client, catalogue, url):
    response = client.get(url)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert REFUSAL in response.content.decode()


def test_the_apis_name_the_parameter_themselves(client, key_a):
    """The JSON APIs refuse a NUL naming where it is (lms.api_common), so the page-wide check
    leaves their paths and queries to them."""
    response = client.get("/api/v1/frameworks?status=%00", HTTP_AUTHORIZATION=f"Bearer {key_a[1]}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "status" in response.json()["detail"]


def test_a_page_without_nul_is_served(client, catalogue):
    assert client.get("/?q=care").status_code == HTTPStatus.OK
