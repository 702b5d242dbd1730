"""An LMS reads the competency profile of its own learners (by external id), and no one else's."""

import uuid
from http import HTTPStatus

import pytest

from courses import services as course_services
from courses.models import ModulePage
from lms import services as lms_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys(people_a, people_b, institution_a, institution_b):
    return (
        lms_services.api_key_create(
            institution=institution_a, name="A", created_by=people_a.manager
        ),
        lms_services.api_key_create(
            institution=institution_b, name="B", created_by=people_b.manager
        ),
    )


def get(client, path, key):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {key[1]}")


def test_the_profile_shows_levels_reached_and_the_evidence_trail(client, keys, course):
    key_a, key_b = keys
    response = client.post(
        "/api/v1/learners",
        {
            "external_id": "moodle-7",
            "full_name": "Grace Achieng",
            "cadre": "volunteer",
            "sector": "community",
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key_a[1]}",
    )
    assert response.status_code == HTTPStatus.CREATED, response.content
    from lms.models import LearnerIdentity

    learner = LearnerIdentity.objects.get(external_id="moodle-7").user
    first = ModulePage.objects.child_of(course).order_by("path").first()
    course_services.enrol(learner=learner, course=course, by_institution=True)
    course_services.module_complete(learner=learner, module=first, event_id=uuid.uuid4())

    response = get(client, "/api/v1/learners/moodle-7/competencies", key_a)
    assert response.status_code == HTTPStatus.OK
    [framework] = response.json()
    assert framework["title"] == course.framework.title
    reached = {item["code"]: item for item in framework["items"] if item["level"]}
    mapped = {m.competency.code: m.target_level.name for m in first.competency_mappings.all()}
    for code, level in mapped.items():
        assert reached[code]["level"] == level
        assert reached[code]["via"] == "direct"
        assert reached[code]["evidence"][0]["kind"] == "module_completion"
        assert reached[code]["evidence"][0]["title"] == first.title

    # Institution B's key cannot read A's learner, nor learn that the id exists.
    response = get(client, "/api/v1/learners/moodle-7/competencies", key_b)
    assert response.status_code == HTTPStatus.NOT_FOUND
    # A session (even A's manager's) is not an API key.
    assert client.get("/api/v1/learners/moodle-7/competencies").status_code == 401


def test_the_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/learners/{external_id}/competencies" in schema["paths"]
    assert "/api/v1/learners/{external_id}/certificates" in schema["paths"]
    assert "/api/v1/verify/{code}" in schema["paths"]
