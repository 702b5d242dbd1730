"""Issuing certificates: criteria, automatic issue, the PDF, expiry, revocation, re-issue."""

import io
import uuid
from datetime import timedelta

import pypdf
import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from certificates import selectors, services
from certificates.codes import code_parse
from certificates.models import (
    Certificate,
    CertificateEvent,
    CertificateRule,
    CertificateState,
    CertificateTemplate,
    EventKind,
    ExpiryReminder,
    IssueMethod,
    RenderStatus,
)
from competencies.models import ScaleLevel
from courses import services as course_services
from tests.learning import course_modules, finish_course, pdf_text, right_answers, wrong_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def template(institution_a):
    return CertificateTemplate.objects.create(
        institution=institution_a,
        name="Standard",
        signatory_name="Dr. Achieng Otieno",
        signatory_title="Principal",
    )


@pytest.fixture
def rule(course, template):
    return CertificateRule.objects.create(
        course=course, template=template, require_modules=True, validity_months=24
    )


def committed(function, **kwargs):
    """Call a service and run its on-commit work, as after a real commit."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        return function(**kwargs)


# --- Criteria and automatic issue -------------------------------------------------------------


def test_no_certificate_until_the_criteria_are_met_then_one_automatically(
    trainee, course, rule, django_capture_on_commit_callbacks
):
    first, second = course_modules(course)
    course_services.enrol(learner=trainee, course=course)
    course_services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())
    assert not Certificate.objects.exists()
    missing = selectors.criteria_check(rule=rule, learner=trainee).missing
    assert missing == [f"Module not complete: {second.title}"]

    with django_capture_on_commit_callbacks(execute=True):
        course_services.quiz_submit(
            learner=trainee, module=second, answers=right_answers(second), event_id=uuid.uuid4()
        )
    certificate = Certificate.objects.get()
    assert certificate.learner == trainee
    assert certificate.method == IssueMethod.AUTOMATIC
    assert certificate.state == CertificateState.ACTIVE
    assert certificate.holder_name == trainee.learner_profile.full_name
    issued_on = timezone.localdate(certificate.issued_at)
    assert issued_on == timezone.localdate()
    # 24 months by the calendar: the same day two years on (29 February: the 28th).
    try:
        two_years_on = issued_on.replace(year=issued_on.year + 2)
    except ValueError:
        two_years_on = issued_on.replace(year=issued_on.year + 2, day=28)
    assert certificate.valid_until == two_years_on
    assert code_parse(certificate.display_code).ok
    # Rendered (eager Celery in tests) and e-mailed with the links.
    assert certificate.is_ready
    assert certificate.credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert [e.kind for e in certificate.events.all()] == [
        EventKind.ISSUED,
        EventKind.RENDERED,
        EventKind.EMAILED,
    ]
    assert len(mail.outbox) == 1
    assert certificate.display_code in mail.outbox[0].body
    assert f"/verify/{certificate.display_code}/" in mail.outbox[0].body


def test_a_failed_quiz_does_not_earn_the_certificate_when_quizzes_are_required(
    trainee, course, rule
):
    rule.require_modules = False
    rule.require_quizzes = True
    rule.save()
    first, second = course_modules(course)
    course_services.enrol(learner=trainee, course=course)
    course_services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())
    course_services.quiz_submit(
        learner=trainee, module=second, answers=wrong_answers(second), event_id=uuid.uuid4()
    )
    assert not Certificate.objects.exists()
    assert selectors.criteria_check(rule=rule, learner=trainee).missing == [
        f"Quiz not passed: {second.title}"
    ]
    course_services.quiz_submit(
        learner=trainee, module=second, answers=right_answers(second), event_id=uuid.uuid4()
    )
    assert Certificate.objects.filter(learner=trainee).count() == 1


def test_competency_and_observation_criteria_name_what_is_missing(trainee, course, rule, people_a):
    rule.require_competencies = True
    rule.require_observations = True
    rule.save()
    finish_course(trainee, course, on_commit=True)
    # Completing the modules attains the mapped competencies at their targets…
    missing = selectors.criteria_check(rule=rule, learner=trainee).missing
    assert missing and all(m.startswith("No supervisor sign-off at") for m in missing)
    assert not Certificate.objects.exists()
    # …and once a supervisor signs each off in practice, the certificate is issued.
    from courses.selectors import course_competencies

    course_services.enrol(learner=trainee, course=course)  # already enrolled: a no-op
    for mapping in course_competencies(course=course):
        course_services.observation_record(
            supervisor=people_a.supervisor,
            learner=trainee,
            institution=course.institution,
            competency=mapping.competency,
            level=mapping.target_level,
            observed_on=timezone.localdate(),
        )
    assert selectors.criteria_check(rule=rule, learner=trainee).met
    assert Certificate.objects.filter(learner=trainee).count() == 1


def test_an_observation_below_the_target_level_is_not_enough(trainee, course, rule, people_a):
    rule.require_modules = False
    rule.require_observations = True
    rule.save()
    from courses.selectors import course_competencies

    course_services.enrol(learner=trainee, course=course)
    for mapping in course_competencies(course=course):
        below = (
            ScaleLevel.objects.filter(
                framework=mapping.target_level.framework,
                order__lt=mapping.target_level.order,
            )
            .order_by("-order")
            .first()
        )
        course_services.observation_record(
            supervisor=people_a.supervisor,
            learner=trainee,
            institution=course.institution,
            competency=mapping.competency,
            level=below,
            observed_on=timezone.localdate(),
        )
    assert not Certificate.objects.exists()


def test_a_course_without_a_rule_awards_nothing(trainee, course):
    finish_course(trainee, course, on_commit=True)
    assert not Certificate.objects.exists()
    with pytest.raises(services.CertificateError, match="does not award a certificate"):
        services.certificate_issue(learner=trainee, course=course)


def test_manual_issue_checks_the_criteria_unless_overridden_with_a_reason(
    trainee, course, rule, people_a
):
    course_services.enrol(learner=trainee, course=course)
    with pytest.raises(services.CertificateError, match="criteria are not met"):
        services.certificate_issue(
            learner=trainee, course=course, method=IssueMethod.MANUAL, actor=people_a.manager
        )
    assert not Certificate.objects.exists()
    issued = services.certificate_issue(
        learner=trainee,
        course=course,
        method=IssueMethod.MANUAL,
        actor=people_a.manager,
        override_reason="Completed the paper-based course in 2025.",
    )
    assert issued.created
    event = issued.certificate.events.get(kind=EventKind.ISSUED)
    assert event.actor == people_a.manager
    assert event.reason == "Completed the paper-based course in 2025."
    assert event.data["criteria_overridden"] is True


def test_issuing_twice_returns_the_same_certificate(trainee, course, rule):
    finish_course(trainee, course, on_commit=True)
    first = Certificate.objects.get()
    again = services.certificate_issue(learner=trainee, course=course)
    assert not again.created and again.certificate == first
    assert Certificate.objects.count() == 1


def test_the_database_refuses_a_second_active_certificate(trainee, course, rule):
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.create(
            code="0" * 17,
            learner=trainee,
            course=course,
            course_version=certificate.course_version,
            institution=certificate.institution,
            template=certificate.template,
            method=IssueMethod.MANUAL,
            holder_name="x",
            course_title="x",
            institution_name="x",
            issued_at=timezone.now(),
            status_list_index=certificate.status_list_index + 1,
        )


def finished_without_a_certificate(learner, course, rule):
    CertificateRule.objects.filter(pk=rule.pk).update(automatic=False)
    finish_course(learner, course)
    CertificateRule.objects.filter(pk=rule.pk).update(automatic=True)


def test_a_drawn_code_that_is_taken_is_drawn_again(trainee, people_a, course, rule):
    finish_course(trainee, course, on_commit=True)
    taken = Certificate.objects.get()
    other = people_a.trainee
    finished_without_a_certificate(other, course, rule)
    draws = iter([taken.code, "7" * 16 + "Z"])

    issued = services.certificate_issue(learner=other, course=course, draw_code=lambda: next(draws))

    assert issued.created and issued.certificate.code == "7" * 16 + "Z"
    assert Certificate.objects.filter(learner=other).count() == 1
    assert (
        CertificateEvent.objects.filter(certificate__learner=other, kind=EventKind.ISSUED).count()
        == 1
    )


def test_when_every_draw_clashes_nothing_is_recorded_and_the_error_says_so(
    trainee, people_a, course, rule
):
    finish_course(trainee, course, on_commit=True)
    taken = Certificate.objects.get()
    other = people_a.trainee
    finished_without_a_certificate(other, course, rule)

    with pytest.raises(services.CertificateError, match="free certificate code") as error:
        services.certificate_issue(learner=other, course=course, draw_code=lambda: taken.code)

    assert error.value.status == 503
    assert not Certificate.objects.filter(learner=other).exists()
    assert not CertificateEvent.objects.filter(certificate__learner=other).exists()


def test_a_new_course_version_may_be_certified_again(trainee, course, rule):
    finish_course(trainee, course, on_commit=True)
    rule.course_version = "2027"
    rule.save()
    issued = services.certificate_issue(learner=trainee, course=course)
    assert issued.created
    assert sorted(Certificate.objects.values_list("course_version", flat=True)) == ["1", "2027"]


# --- The PDF ----------------------------------------------------------------------------------


def test_the_pdf_shows_what_was_certified_and_its_qr_code_opens_the_verify_page(
    trainee, course, rule
):
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    text = pdf_text(certificate)
    for expected in (
        certificate.holder_name,
        course.title,
        course.institution.name,
        certificate.display_code,
        "Dr. Achieng Otieno",
        "Principal",
        course.framework.title,
        f"version {course.framework.version}",
    ):
        assert expected in text, expected
    for item in certificate.competencies:
        assert item["code"] in text and item["level"] in text
    # Proper metadata.
    with default_storage.open(certificate.pdf.name, "rb") as handle:
        data = handle.read()
    metadata = pypdf.PdfReader(io.BytesIO(data)).metadata
    assert certificate.holder_name in metadata.title
    assert metadata.author == course.institution.name
    assert certificate.display_code in metadata.subject
    # The QR code decodes to the verification URL.
    import pypdfium2
    import zxingcpp

    page = pypdfium2.PdfDocument(data)[0]
    decoded = [code.text for code in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]
    assert decoded == [f"http://testserver/verify/{certificate.display_code}/"]


def test_later_framework_or_course_changes_never_alter_an_issued_certificate(trainee, course, rule):
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    frozen = list(certificate.competencies)
    title = certificate.course_title
    course.title = "Renamed course"
    course.save_revision().publish()
    from competencies.models import CompetencyItem

    CompetencyItem.objects.filter(code=frozen[0]["code"]).update(full_statement="Changed")
    certificate.refresh_from_db()
    assert certificate.competencies == frozen
    assert certificate.course_title == title
    assert title in pdf_text(certificate)


def test_rendering_again_is_a_no_op_and_keeps_one_pdf(trainee, course, rule):
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    name = certificate.pdf.name
    services.certificate_render(certificate_id=certificate.pk)
    services.certificate_render(certificate_id=certificate.pk)
    certificate.refresh_from_db()
    assert certificate.pdf.name == name
    folder = name.rsplit("/", 1)[0]
    assert default_storage.listdir(folder)[1] == [name.rsplit("/", 1)[1]]
    assert certificate.events.filter(kind=EventKind.RENDERED).count() == 1


def test_each_template_layout_renders(trainee, course, rule, template):
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    from certificates.models import Layout

    for layout in Layout.values:
        template.layout = layout
        template.save()
        certificate.template.layout = layout
        data = services.certificate_pdf_bytes(certificate=certificate)
        page = pypdf.PdfReader(io.BytesIO(data)).pages[0]
        landscape = page.mediabox.width > page.mediabox.height
        assert landscape == layout.startswith("landscape")
        assert certificate.holder_name in page.extract_text()


# --- Revocation, re-issue, renewal -----------------------------------------------------------


def test_revocation_needs_a_reason_and_is_logged(trainee, course, rule, people_a):
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    with pytest.raises(services.CertificateError, match="reason"):
        services.certificate_revoke(certificate=certificate, actor=people_a.manager, reason=" ")
    services.certificate_revoke(
        certificate=certificate, actor=people_a.manager, reason="Issued to the wrong person."
    )
    certificate.refresh_from_db()
    assert certificate.state == CertificateState.REVOKED
    assert certificate.verification_status == "revoked"
    event = certificate.events.get(kind=EventKind.REVOKED)
    assert (event.actor, event.reason) == (people_a.manager, "Issued to the wrong person.")
    with pytest.raises(services.CertificateError, match="already revoked"):
        services.certificate_revoke(certificate=certificate, actor=people_a.manager, reason="x")
    # A revoked certificate no longer blocks a new one for the course version.
    assert services.certificate_issue(learner=trainee, course=course).created


def test_reissue_keeps_the_code_records_a_new_version_and_renders_it(
    trainee, course, rule, people_a
):
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    code, first_pdf = certificate.code, certificate.pdf.name
    committed(
        services.certificate_reissue,
        certificate=certificate,
        actor=people_a.manager,
        reason="Name misspelt.",
        holder_name="Amina W. Njeri",
    )
    certificate.refresh_from_db()
    assert certificate.code == code
    assert certificate.version == 2
    assert certificate.is_ready and certificate.pdf.name != first_pdf
    assert "Amina W. Njeri" in pdf_text(certificate)
    assert "version 2" in pdf_text(certificate)
    event = certificate.events.get(kind=EventKind.REISSUED)
    assert event.data["previous_holder_name"] == trainee.learner_profile.full_name
    assert event.reason == "Name misspelt."
    credential = certificate.credential
    assert credential["credentialSubject"]["identifier"][0]["identityHash"] == "Amina W. Njeri"


def test_the_audit_log_cannot_be_changed(trainee, course, rule):
    from certificates.models import AppendOnlyError

    finish_course(trainee, course, on_commit=True)
    event = CertificateEvent.objects.first()
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()


def test_renewal_issues_a_new_certificate_linked_to_the_old(trainee, course, rule, people_a):
    finish_course(trainee, course, on_commit=True)
    old = Certificate.objects.get()
    renewal = services.certificate_renew(certificate=old, actor=people_a.manager)
    old.refresh_from_db()
    assert renewal.renews == old and renewal.code != old.code
    assert renewal.method == IssueMethod.RENEWAL
    assert old.state == CertificateState.RENEWED
    assert old.verification_status == "valid"  # until its own expiry
    assert selectors.verification_facts(old)["renewed_by"] == renewal.display_code
    assert old.events.filter(kind=EventKind.RENEWED).exists()


def test_a_certificate_without_expiry_cannot_be_renewed(trainee, course, rule, people_a):
    rule.validity_months = None
    rule.save()
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    assert certificate.valid_until is None
    with pytest.raises(services.CertificateError, match="does not expire"):
        services.certificate_renew(certificate=certificate, actor=people_a.manager)


# --- Expiry -----------------------------------------------------------------------------------


def test_expired_certificates_say_so(trainee, course, rule):
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    Certificate.objects.filter(pk=certificate.pk).update(
        valid_until=timezone.localdate() - timedelta(days=1)
    )
    certificate.refresh_from_db()
    assert certificate.verification_status == "expired"


def test_expiry_reminders_go_out_60_and_14_days_before_once_each(trainee, course, rule):
    trainee.email = "amina@example.org"
    trainee.save()
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    mail.outbox.clear()
    today = certificate.valid_until - timedelta(days=60)
    send = services.expiry_reminders_send
    assert committed(send, today=today) == 1
    assert committed(send, today=today) == 0  # a second beat: nothing more
    assert committed(send, today=certificate.valid_until - timedelta(days=30)) == 0
    assert committed(send, today=certificate.valid_until - timedelta(days=14)) == 1
    assert len(mail.outbox) == 2
    assert "expires in 60 days" in mail.outbox[0].subject
    assert certificate.display_code in mail.outbox[0].body
    assert sorted(ExpiryReminder.objects.values_list("days_before", flat=True)) == [14, 60]
    assert certificate.events.filter(kind=EventKind.REMINDED).count() == 2


# --- Pending certificates ---------------------------------------------------------------------


def test_the_sweep_renders_what_the_broker_never_got(trainee, course, rule, settings, monkeypatch):
    from certificates import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.render_certificate, "apply_async", broker_down)
    finish_course(
        trainee, course, on_commit=True
    )  # the progress and the certificate commit all the same
    certificate = Certificate.objects.get()
    assert certificate.render_status == RenderStatus.PENDING
    monkeypatch.undo()
    Certificate.objects.filter(pk=certificate.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    assert services.certificates_pending_sweep() == 1
    certificate.refresh_from_db()
    assert certificate.is_ready
    assert services.certificates_pending_sweep() == 0


def test_bulk_issue_for_a_cohort_reports_progress_and_who_is_not_eligible(
    course, rule, people_a, trainee
):
    from tests.factories import UserFactory

    cohort = course_services.cohort_create(
        institution=course.institution, course=course, name="Kisumu 2026"
    )
    ready, not_ready = UserFactory(username="ready"), UserFactory(username="not-ready")
    cohort.learners.add(ready, not_ready)
    finish_course(ready, course, on_commit=True)  # issued automatically already
    course_services.cohort_enrol(cohort=cohort)
    job = committed(services.bulk_issue_start, cohort=cohort, actor=people_a.manager)
    job.refresh_from_db()
    assert (job.status, job.total, job.processed) == ("done", 2, 2)
    assert (job.issued, job.already_held) == (0, 1)
    assert job.not_eligible[0]["learner"] == "not-ready"
    assert "Module not complete" in job.not_eligible[0]["reason"]


def test_issue_is_announced_to_the_institutions_webhooks(trainee, course, rule, monkeypatch):
    from lms import services as lms_services
    from lms import tasks as lms_tasks
    from lms.models import WebhookDelivery

    monkeypatch.setattr(lms_tasks.deliver_webhook, "delay", lambda *args, **kwargs: None)
    lms_services.webhook_create(
        institution=course.institution,
        url="https://lms.example.org/hooks",
        events=["certificate_issued"],
    )
    finish_course(trainee, course, on_commit=True)
    certificate = Certificate.objects.get()
    delivery = WebhookDelivery.objects.get(event="certificate_issued")
    assert delivery.payload["certificate"]["code"] == certificate.display_code
    assert delivery.payload["certificate"]["verification_url"].endswith(
        f"/verify/{certificate.display_code}/"
    )
    assert delivery.payload["learner"]["id"] == trainee.pk
