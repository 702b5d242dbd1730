"""Certificate templates, issuance rules, certificates and their append-only history.

A certificate freezes, at issue, everything it shows (holder name, course, institution,
competencies with their levels, the framework and its version): later changes to the course
or framework never alter an issued certificate. Re-issuing (a name correction, a template fix)
keeps the code and records a new version; renewal issues a new certificate linked to the old.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from certificates.codes import code_display
from lms.models import language_choices

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Give a colour as #RRGGBB, e.g. #1d4e89."))


class Layout(models.TextChoices):
    LANDSCAPE_CLASSIC = "landscape_classic", _("Landscape — classic, framed")
    LANDSCAPE_BAND = "landscape_band", _("Landscape — colour band")
    PORTRAIT_CLASSIC = "portrait_classic", _("Portrait — classic, framed")


class CertificateTemplate(models.Model):
    """An institution's certificate design: a shipped layout with its own branding."""

    institution = models.ForeignKey(
        "lms.Institution",
        verbose_name=_("institution"),
        on_delete=models.CASCADE,
        related_name="certificate_templates",
    )
    name = models.CharField(_("name"), max_length=120)
    layout = models.CharField(
        _("layout"), max_length=30, choices=Layout.choices, default=Layout.LANDSCAPE_CLASSIC
    )
    logo = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("logo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Leave empty to use the institution's logo."),
    )
    primary_colour = models.CharField(
        _("main colour"), max_length=7, default="#1d4e89", validators=[hex_colour]
    )
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default="#c8102e", validators=[hex_colour]
    )
    signatory_name = models.CharField(_("signatory name"), max_length=200)
    signatory_title = models.CharField(_("signatory title"), max_length=200)
    signature = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("signature image"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    language = models.CharField(
        _("language"), max_length=10, choices=language_choices, default="en"
    )
    statement = models.CharField(
        _("statement"),
        max_length=300,
        blank=True,
        help_text=_("Printed under the holder's name. Empty: “has successfully completed”."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["institution__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "name"], name="certificate_template_unique_name"
            ),
        ]
        verbose_name = _("certificate template")
        verbose_name_plural = _("certificate templates")

    def __str__(self) -> str:
        return f"{self.name} ({self.institution})"

    @property
    def is_landscape(self) -> bool:
        return self.layout.startswith("landscape")


class CertificateRule(models.Model):
    """When a course's certificate is issued, on which template, and for how long it holds."""

    course = models.OneToOneField(
        "courses.CoursePage",
        verbose_name=_("course"),
        on_delete=models.CASCADE,
        related_name="certificate_rule",
    )
    template = models.ForeignKey(
        CertificateTemplate,
        verbose_name=_("template"),
        on_delete=models.PROTECT,
        related_name="rules",
    )
    course_version = models.CharField(
        _("course version"),
        max_length=40,
        default="1",
        help_text=_(
            "A learner holds one valid certificate per course version. Change it when the "
            "course changes enough to certify it anew (e.g. “2027 edition”)."
        ),
    )
    automatic = models.BooleanField(
        _("issue automatically"),
        default=True,
        help_text=_("Issue the certificate as soon as a learner meets the criteria."),
    )
    require_modules = models.BooleanField(_("all required modules complete"), default=True)
    require_quizzes = models.BooleanField(
        _("every quiz of the course passed (optional modules too)"), default=False
    )
    require_competencies = models.BooleanField(
        _("every mapped competency attained at its target level"), default=False
    )
    require_observations = models.BooleanField(
        _("every mapped competency signed off by a supervisor at its target level"),
        default=False,
    )
    validity_months = models.PositiveSmallIntegerField(
        _("valid for (months)"),
        null=True,
        blank=True,
        help_text=_("Leave empty for a certificate that does not expire."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("course certificate")
        verbose_name_plural = _("course certificates")

    def __str__(self) -> str:
        return str(self.course)

    def clean(self):
        if self.validity_months == 0:
            raise ValidationError({"validity_months": _("Leave empty, or give at least 1 month.")})
        if self.course_id and self.template_id:
            institution = self.course.institution
            if institution is None or self.template.institution_id != institution.pk:
                raise ValidationError(
                    {
                        "template": _(
                            "Choose a template of %(institution)s, the institution of the course."
                        )
                        % {"institution": institution or _("the course's institution")}
                    }
                )


class CertificateState(models.TextChoices):
    ACTIVE = "active", _("Active")
    REVOKED = "revoked", _("Revoked")
    RENEWED = "renewed", _("Renewed")  # a renewal took over; valid until its own expiry


class RenderStatus(models.TextChoices):
    PENDING = "pending", _("Being prepared")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


#: Bits of one of the BitstringStatusLists that ``Certificate.status_list_index`` points into
#: (the specification's minimum, for herd privacy): index // size is the list, index % size
#: the bit.
STATUS_LIST_SIZE = 131072


class IssueMethod(models.TextChoices):
    AUTOMATIC = "automatic", _("Automatically, when the criteria were met")
    MANUAL = "manual", _("By the institution")
    BULK = "bulk", _("By the institution, for a cohort")
    RENEWAL = "renewal", _("Renewal")


class Certificate(models.Model):
    """One learner's certificate of one course version, frozen at issue."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(
        _("code"), max_length=17, unique=True, help_text=_("16 symbols and a check symbol.")
    )
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="certificates"
    )
    course = models.ForeignKey(
        "courses.CoursePage", on_delete=models.PROTECT, related_name="certificates"
    )
    course_version = models.CharField(max_length=40)
    institution = models.ForeignKey(
        "lms.Institution", on_delete=models.PROTECT, related_name="certificates"
    )
    template = models.ForeignKey(CertificateTemplate, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=10, choices=CertificateState.choices, default=CertificateState.ACTIVE
    )
    method = models.CharField(max_length=10, choices=IssueMethod.choices)
    # Frozen at issue (personal data: the holder's name as printed).
    holder_name = models.CharField(_("holder name"), max_length=200)
    course_title = models.CharField(max_length=255)
    institution_name = models.CharField(max_length=200)
    cpd_hours = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    framework_title = models.CharField(max_length=255, blank=True)
    framework_version = models.CharField(max_length=40, blank=True)
    framework_identifier = models.CharField(max_length=64, blank=True)
    competencies = models.JSONField(
        default=list,
        help_text=_("Competencies as certified: code, statement, level, CASE item URI."),
    )
    language = models.CharField(max_length=10, default="en")
    issued_at = models.DateTimeField()
    valid_until = models.DateField(null=True, blank=True)
    # Re-issue keeps the code and bumps the version; the stored PDF/credential follow it.
    version = models.PositiveIntegerField(default=1)
    render_status = models.CharField(
        max_length=10, choices=RenderStatus.choices, default=RenderStatus.PENDING
    )
    rendered_version = models.PositiveIntegerField(default=0)
    render_error = models.TextField(blank=True)
    pdf = models.FileField(upload_to="certificates/", max_length=255, blank=True)
    credential = models.JSONField(null=True, blank=True)
    status_list_index = models.PositiveIntegerField(unique=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.TextField(blank=True)
    renews = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewal"
    )
    verification_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "course", "course_version"],
                condition=Q(state="active"),
                name="certificate_one_active_per_course_version",
            ),
            models.CheckConstraint(
                condition=~Q(state="revoked") | Q(revoked_at__isnull=False),
                name="certificate_revoked_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["render_status"], name="certificate_render_status"),
            models.Index(fields=["valid_until"], name="certificate_valid_until"),
        ]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")

    def __str__(self) -> str:
        return f"{self.display_code} · {self.holder_name} · {self.course_title}"

    @property
    def display_code(self) -> str:
        return code_display(self.code)

    @property
    def is_revoked(self) -> bool:
        return self.state == CertificateState.REVOKED

    def is_expired(self, *, today=None) -> bool:
        today = today or timezone.localdate()
        return self.valid_until is not None and self.valid_until < today

    @property
    def verification_status(self) -> str:
        """valid / expired / revoked — what a verifier is told."""
        if self.is_revoked:
            return "revoked"
        if self.is_expired():
            return "expired"
        return "valid"

    @property
    def is_ready(self) -> bool:
        return self.render_status == RenderStatus.READY and self.rendered_version == self.version


class EventKind(models.TextChoices):
    ISSUED = "issued", _("Issued")
    RENDERED = "rendered", _("PDF and credential ready")
    EMAILED = "emailed", _("E-mailed to the holder")
    REISSUED = "reissued", _("Re-issued")
    REVOKED = "revoked", _("Revoked")
    RENEWED = "renewed", _("Renewed")
    REMINDED = "reminded", _("Expiry reminder sent")
    RENDER_FAILED = "render_failed", _("Rendering failed")


class AppendOnlyError(Exception):
    pass


class CertificateEvent(models.Model):
    """The audit log: who did what to a certificate, when and why. Rows are never changed."""

    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = _("certificate event")
        verbose_name_plural = _("certificate events")

    def __str__(self) -> str:
        return f"{self.certificate_id} · {self.kind} · {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        # An audit log that can be edited is no audit log.
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("Certificate events are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Certificate events are never deleted.")


class ExpiryReminder(models.Model):
    """One reminder sent per certificate and lead time: the constraint stops a second."""

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, related_name="+")
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["certificate", "days_before"], name="expiry_reminder_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.certificate_id} · {self.days_before} days"


class BulkIssueStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class BulkIssue(models.Model):
    """An institution's request to issue certificates to a cohort, with its progress."""

    institution = models.ForeignKey("lms.Institution", on_delete=models.CASCADE, related_name="+")
    cohort = models.ForeignKey("courses.Cohort", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=BulkIssueStatus.choices, default=BulkIssueStatus.QUEUED
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    issued = models.PositiveIntegerField(default=0)
    already_held = models.PositiveIntegerField(default=0)
    not_eligible = models.JSONField(
        default=list, help_text=_("Learners who do not meet the criteria, with the reasons.")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.cohort} · {self.get_status_display()}"

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.processed / self.total)
