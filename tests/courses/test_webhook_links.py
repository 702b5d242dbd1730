"""Links in webhooks lead where the public reaches the site (``SITE_BASE_URL``), as every
absolute link the apps give out does (:mod:`lms.links`)."""

import pytest

from lms import services as lms_services
from lms.models import WebhookDelivery, WebhookEvent
from tests.learning import course_modules, finish_course

pytestmark = pytest.mark.django_db


def test_a_module_completed_webhook_links_the_module_at_the_sites_address(
    settings, institution_a, course, people_a
):
    settings.SITE_BASE_URL = "https://learning.example.org:8443"
    lms_services.webhook_create(institution=institution_a, url="https://lms.example.org/hook")

    finish_course(people_a.trainee, course)

    first = course_modules(course)[0]
    urls = [
        payload["module"]["url"]
        for payload in WebhookDelivery.objects.filter(
            event=WebhookEvent.MODULE_COMPLETED
        ).values_list("payload", flat=True)
    ]
    assert f"https://learning.example.org:8443/ubuntu/case-management/{first.slug}/" in urls
    assert all(url.startswith("https://learning.example.org:8443/") for url in urls)
