"""Managers add, pause and inspect their institution's webhooks in the admin; nobody else can."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from lms import services
from lms.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_a_manager_adds_a_webhook_and_sees_its_secret_once(client, people_a, institution_a):
    client.force_login(people_a.manager)
    response = client.post(
        reverse("lms_webhooks"),
        {
            "institution": institution_a.pk,
            "url": "https://lms.example.org/ssw",
            "events": ["module_completed", "certificate_issued"],
        },
    )
    assert response.status_code == HTTPStatus.OK
    webhook = Webhook.objects.get()
    assert (webhook.institution, webhook.url) == (institution_a, "https://lms.example.org/ssw")
    assert webhook.events == ["module_completed", "certificate_issued"]
    page = response.content.decode()
    assert webhook.secret in page
    # Shown once: the list does not show it again.
    assert webhook.secret not in client.get(reverse("lms_webhooks")).content.decode()


def test_a_bad_url_or_no_event_is_refused_and_nothing_is_stored(client, people_a, institution_a):
    client.force_login(people_a.manager)
    response = client.post(
        reverse("lms_webhooks"),
        {"institution": institution_a.pk, "url": "https://example.org/x", "events": []},
    )
    assert "This field is required" in response.content.decode()
    response = client.post(
        reverse("lms_webhooks"),
        {
            "institution": institution_a.pk,
            "url": "ftp://example.org/x",
            "events": ["module_completed"],
        },
    )
    assert "Enter an http:// or https:// URL." in response.content.decode()
    assert not Webhook.objects.exists()


def test_managers_see_pause_and_inspect_only_their_own(
    client, people_a, people_b, institution_a, institution_b
):
    webhook_a, _ = services.webhook_create(institution=institution_a, url="https://a.example.org")
    webhook_b, _ = services.webhook_create(institution=institution_b, url="https://b.example.org")
    WebhookDelivery.objects.create(
        webhook=webhook_a, event="module_completed", payload={}, last_error="HTTP 500: down"
    )
    client.force_login(people_a.manager)
    listing = client.get(reverse("lms_webhooks")).content.decode()
    assert "https://a.example.org" in listing and "https://b.example.org" not in listing
    detail = client.get(reverse("lms_webhook", args=[webhook_a.pk])).content.decode()
    assert "HTTP 500: down" in detail
    assert client.get(reverse("lms_webhook", args=[webhook_b.pk])).status_code == 404
    assert client.post(reverse("lms_webhook_toggle", args=[webhook_b.pk])).status_code == 404
    assert Webhook.objects.get(pk=webhook_b.pk).active

    client.post(reverse("lms_webhook_toggle", args=[webhook_a.pk]))
    assert not Webhook.objects.get(pk=webhook_a.pk).active
    client.post(reverse("lms_webhook_toggle", args=[webhook_a.pk]))
    assert Webhook.objects.get(pk=webhook_a.pk).active


@pytest.mark.parametrize("role", ["trainee", "supervisor", "author", "instructor"])
def test_other_roles_cannot_manage_webhooks(client, people_a, institution_a, role):
    webhook, _ = services.webhook_create(institution=institution_a, url="https://a.example.org")
    client.force_login(getattr(people_a, role))
    assert client.get(reverse("lms_webhooks")).status_code in (403, 302)
    assert client.post(reverse("lms_webhook_toggle", args=[webhook.pk])).status_code in (
        403,
        302,
        404,
    )
    assert Webhook.objects.get(pk=webhook.pk).active


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("lms_webhooks"))
    assert response.status_code == 302 and "/login/" in response["Location"]
