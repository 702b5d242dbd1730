"""Outbound webhooks: deliveries logged with the event, sent after commit, signed with an HMAC
of the exact body, retried with backoff while the endpoint fails, never sent twice."""

import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from celery.exceptions import Retry

from courses import services as courses_services
from courses.models import ModulePage
from lms import services
from lms.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from lms.tasks import deliver_webhook

pytestmark = pytest.mark.django_db


class Endpoint:
    """An HTTP server on 127.0.0.1 and a random port, answering with the given statuses."""

    def __init__(self, statuses=(200,)):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.requests.append({"headers": dict(self.headers), "body": body})
                status = (
                    endpoint.statuses.pop(0) if len(endpoint.statuses) > 1 else endpoint.statuses[0]
                )
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/ssw"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    with Endpoint() as server:
        yield server


def dispatch(institution, django_capture_on_commit_callbacks, **payload):
    with django_capture_on_commit_callbacks(execute=True):
        return services.webhooks_dispatch(
            institution=institution,
            event=WebhookEvent.MODULE_COMPLETED,
            payload=payload or {"learner": {"id": 1}},
        )


def test_a_delivery_reaches_the_endpoint_signed_over_the_exact_body(
    institution_a, endpoint, django_capture_on_commit_callbacks
):
    webhook, secret = services.webhook_create(institution=institution_a, url=endpoint.url)
    assert secret.startswith("whsec_") and webhook.secret == secret

    [delivery] = dispatch(institution_a, django_capture_on_commit_callbacks, module="Opening")

    [received] = endpoint.requests
    body, headers = received["body"], received["headers"]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-SSW-Signature"] == f"sha256={expected}"
    assert hmac.compare_digest(
        headers["X-SSW-Signature"], services.webhook_signature(secret=secret, body=body)
    )
    assert headers["X-SSW-Event"] == "module_completed"
    assert headers["Content-Type"] == "application/json"
    message = json.loads(body)
    assert message["event"] == "module_completed"
    assert message["data"] == {"module": "Opening"}
    assert message["id"] == str(delivery.uuid) == headers["X-SSW-Delivery"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 1, "")
    assert delivery.delivered_at is not None
    # A signature made with another secret, or over other bytes, does not verify.
    assert services.webhook_signature(secret="whsec_other", body=body) != headers["X-SSW-Signature"]
    assert services.webhook_signature(secret=secret, body=body + b" ") != headers["X-SSW-Signature"]


def test_nothing_is_sent_when_the_transaction_rolls_back_or_nobody_listens(
    institution_a, institution_b, endpoint, django_capture_on_commit_callbacks
):
    services.webhook_create(
        institution=institution_a, url=endpoint.url, events=["certificate_issued"]
    )
    assert dispatch(institution_a, django_capture_on_commit_callbacks) == []  # not subscribed
    assert dispatch(institution_b, django_capture_on_commit_callbacks) == []  # no webhook
    with django_capture_on_commit_callbacks() as callbacks:
        services.webhooks_dispatch(
            institution=institution_a, event=WebhookEvent.CERTIFICATE_ISSUED, payload={}
        )
    assert len(callbacks) == 1 and endpoint.requests == []  # queued for after commit only
    with pytest.raises(services.WebhookError):
        services.webhook_create(institution=institution_a, url="ftp://example.org/x")
    with pytest.raises(services.WebhookError):
        services.webhook_create(institution=institution_a, url=endpoint.url, events=["nope"])


def test_a_failing_endpoint_is_retried_with_backoff_until_it_answers(institution_a):
    """Eager Celery with EAGER_PROPAGATES raises the scheduled retry instead of running it, so
    each attempt is driven here as a worker would run it, with its retry number."""
    with Endpoint(statuses=[500, 503, 200]) as endpoint:
        webhook, _secret = services.webhook_create(institution=institution_a, url=endpoint.url)
        delivery = WebhookDelivery.objects.create(
            webhook=webhook, event="module_completed", payload={"n": 1}
        )
        countdowns = []
        for retries in (0, 1):
            with pytest.raises(Retry) as scheduled:
                deliver_webhook.apply(args=[delivery.pk], retries=retries)
            countdowns.append(scheduled.value.when)
            assert isinstance(scheduled.value.exc, services.WebhookDeliveryError)
            delivery.refresh_from_db()
            assert (delivery.status, delivery.attempts) == ("pending", retries + 1)
            assert delivery.last_error.startswith(f"HTTP {500 if retries == 0 else 503}")
        assert deliver_webhook.apply(args=[delivery.pk], retries=2).get() == "delivered"
    # Exponential backoff with full jitter: each wait is at most 30 s × 2^retries.
    assert 0 <= countdowns[0] <= 30 and 0 <= countdowns[1] <= 60
    assert len(endpoint.requests) == 3
    assert len({r["body"] for r in endpoint.requests}) == 1  # the same signed bytes each time
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, "")


def test_a_failure_after_commit_does_not_fail_the_caller_and_schedules_a_retry(
    institution_a, django_capture_on_commit_callbacks
):
    with Endpoint(statuses=[500]) as endpoint:
        services.webhook_create(institution=institution_a, url=endpoint.url)
        [delivery] = dispatch(institution_a, django_capture_on_commit_callbacks)  # no exception
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "HTTP 500" in delivery.last_error and len(endpoint.requests) == 1


def test_after_the_last_retry_the_delivery_is_logged_as_failed(institution_a):
    with Endpoint(statuses=[500]) as endpoint:
        webhook, _secret = services.webhook_create(institution=institution_a, url=endpoint.url)
        delivery = WebhookDelivery.objects.create(
            webhook=webhook, event="module_completed", payload={}
        )
        last = deliver_webhook.max_retries
        assert last == 8
        with pytest.raises(services.WebhookDeliveryError, match="HTTP 500"):
            deliver_webhook.apply(args=[delivery.pk], retries=last)  # no retry is left
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert "HTTP 500" in delivery.last_error and delivery.delivered_at is None


def test_an_unreachable_endpoint_is_retried_too(institution_a):
    with Endpoint() as endpoint:
        url = endpoint.url
    webhook, _secret = services.webhook_create(institution=institution_a, url=url)  # now closed
    delivery = WebhookDelivery.objects.create(webhook=webhook, event="module_completed", payload={})
    with pytest.raises(Retry) as scheduled:
        deliver_webhook.delay(delivery.pk)
    assert isinstance(scheduled.value.exc, requests.ConnectionError)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.last_error


def test_a_delivered_delivery_is_not_sent_again(
    institution_a, endpoint, django_capture_on_commit_callbacks
):
    services.webhook_create(institution=institution_a, url=endpoint.url)
    [delivery] = dispatch(institution_a, django_capture_on_commit_callbacks)
    assert deliver_webhook.delay(delivery.pk).get() == "delivered"
    deliver_webhook.delay(delivery.pk)
    assert len(endpoint.requests) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_completing_a_module_tells_the_institution_and_its_competencies_too(
    trainee, course, institution_a, endpoint, django_capture_on_commit_callbacks
):
    services.webhook_create(institution=institution_a, url=endpoint.url)
    first = ModulePage.objects.child_of(course).order_by("path").first()
    courses_services.enrol(learner=trainee, course=course)
    with django_capture_on_commit_callbacks(execute=True):
        courses_services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())

    messages = {}
    for request in endpoint.requests:
        message = json.loads(request["body"])
        messages.setdefault(message["event"], []).append(message["data"])
    [completed] = messages["module_completed"]
    assert completed["learner"] == {"id": trainee.pk, "username": trainee.username}
    assert completed["module"]["title"] == first.title
    assert completed["course"] == {"id": course.pk, "title": course.title}
    [attained] = messages["competency_attained"]  # the first module builds PP.5.1
    assert attained["competency"]["code"] == "PP.5.1"
    assert attained["level"]["name"] == "Developing"
    assert attained["via"] == "direct"
    assert set(WebhookDelivery.objects.values_list("event", "status")) == {
        ("module_completed", "delivered"),
        ("competency_attained", "delivered"),
    }

    # The same completion reported again sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        courses_services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())
    assert WebhookDelivery.objects.count() == 2
