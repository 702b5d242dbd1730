"""Regulatory bodies, the regulators who work for them, and the figures they plan with.

A body's jurisdiction is a country (ISO 3166-1 alpha-2), optionally narrowed to regions of
it: the workers it sees are those whose learner profile is in that country (and region).
"""

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from lms.models import Cadre

COUNTRY_CODE = RegexValidator(r"^[A-Z]{2}$", _("Use a two-letter ISO 3166-1 code, e.g. KE."))


class RegulatoryBody(models.Model):
    """A social service council or ministry that keeps a register and sets CPD requirements."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    country = models.CharField(
        _("country"),
        max_length=2,
        validators=[COUNTRY_CODE],
        help_text=_("ISO 3166-1 alpha-2 code, e.g. KE."),
    )
    regions = models.JSONField(
        _("regions"),
        default=list,
        blank=True,
        help_text=_("Regions of the country the body covers; none means the whole country."),
    )
    children_per_worker_target = models.PositiveIntegerField(
        _("target: children per certified worker"),
        null=True,
        blank=True,
        help_text=_("E.g. 1000 for one certified social service worker per 1,000 children."),
    )
    admin_group = models.OneToOneField(
        "auth.Group",
        verbose_name=_("admin group"),
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Kept by the site: it lets the body's regulators open the Wagtail admin. "
            "Being in it alone makes no one a regulator."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("regulatory body")
        verbose_name_plural = _("regulatory bodies")

    def __str__(self) -> str:
        return self.name


class RegulatorMembership(models.Model):
    """A person who works for a regulatory body. One body per person."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="regulator_membership"
    )
    body = models.ForeignKey(RegulatoryBody, on_delete=models.CASCADE, related_name="members")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("regulator membership")
        verbose_name_plural = _("regulator memberships")

    def __str__(self) -> str:
        return f"{self.user} · {self.body}"


class PopulationFigure(models.Model):
    """A region's population, as the body uploaded it, for workers-per-children ratios."""

    body = models.ForeignKey(RegulatoryBody, on_delete=models.CASCADE, related_name="population")
    region = models.CharField(_("region"), max_length=120)
    total_population = models.PositiveBigIntegerField(_("total population"))
    children = models.PositiveBigIntegerField(_("children under 18"))
    uploaded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region"]
        constraints = [
            models.UniqueConstraint(fields=["body", "region"], name="population_unique_region"),
            models.CheckConstraint(
                condition=models.Q(children__lte=models.F("total_population")),
                name="population_children_within_total",
            ),
        ]
        verbose_name = _("population figure")
        verbose_name_plural = _("population figures")

    def __str__(self) -> str:
        return f"{self.region}: {self.children} / {self.total_population}"


# --- Continuing professional development (CPD) ----------------------------------------------


class CpdRequirement(models.Model):
    """Hours of CPD a body requires of a cadre in a period.

    A requirement may count only hours in some competencies (named ones, or every competency
    of a framework domain): "5 of the 20 hours in child safeguarding" is a second requirement
    naming that domain.
    """

    body = models.ForeignKey(
        RegulatoryBody, on_delete=models.CASCADE, related_name="cpd_requirements"
    )
    title = models.CharField(_("title"), max_length=200)
    cadre = models.CharField(
        _("cadre"),
        max_length=20,
        blank=True,
        choices=Cadre.choices,
        help_text=_("Leave empty for every cadre."),
    )
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1)
    period_start = models.DateField(_("period starts"))
    period_end = models.DateField(_("period ends"))
    competencies = models.ManyToManyField(
        "competencies.CompetencyItem",
        verbose_name=_("only in these competencies"),
        blank=True,
        related_name="+",
    )
    domain = models.ForeignKey(
        "competencies.CompetencyItem",
        verbose_name=_("only in this framework domain"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "title"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="cpd_requirement_period_in_order",
            ),
            models.CheckConstraint(
                condition=models.Q(hours__gt=0), name="cpd_requirement_hours_positive"
            ),
        ]
        verbose_name = _("CPD requirement")
        verbose_name_plural = _("CPD requirements")

    def __str__(self) -> str:
        return self.title


class ActivityStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


def evidence_path(instance, filename: str) -> str:
    # The learner's name for the file is kept only as its last part, after a random folder.
    return f"cpd-evidence/{uuid.uuid4().hex}/{filename[-100:]}"


class CpdActivity(models.Model):
    """CPD a learner did outside the courses here, with evidence, for an institution to judge."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cpd_activities"
    )
    institution = models.ForeignKey(
        "lms.Institution",
        verbose_name=_("institution that approves it"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=200)
    provider = models.CharField(_("provider"), max_length=200)
    done_on = models.DateField(_("date"))
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1)
    evidence = models.FileField(_("evidence"), upload_to=evidence_path, max_length=255)
    competencies = models.ManyToManyField(
        "competencies.CompetencyItem",
        verbose_name=_("competencies it developed"),
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ActivityStatus.choices, default=ActivityStatus.PENDING
    )
    reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-done_on", "-pk"]
        indexes = [models.Index(fields=["learner", "status", "done_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(hours__gt=0), name="cpd_activity_hours_positive"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | ~models.Q(reason=""),
                name="cpd_activity_rejection_has_reason",
            ),
        ]
        verbose_name = _("CPD activity")
        verbose_name_plural = _("CPD activities")

    def __str__(self) -> str:
        return f"{self.title} ({self.hours} h)"


class CpdReminder(models.Model):
    """A reminder sent to a learner behind on a requirement: once per lead time (constraint)."""

    requirement = models.ForeignKey(CpdRequirement, on_delete=models.CASCADE, related_name="+")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["requirement", "learner", "days_before"], name="cpd_reminder_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requirement} · {self.learner} · {self.days_before} days"


class RegulatorApiKey(models.Model):
    """A secret a regulatory body's own systems use to read its register, statistics and
    CPD status through the API. Only a SHA-256 digest is kept; the key is shown once."""

    body = models.ForeignKey(RegulatoryBody, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, help_text=_("What uses this key."))
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_digest = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("regulator API key")
        verbose_name_plural = _("regulator API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


# --- The workforce figures counted ahead (regulation.counting) -----------------------------


class FiguresCount(models.Model):
    """When a country's workforce figures were last counted into the summary tables."""

    country = models.CharField(_("country"), max_length=2, unique=True)
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    seconds = models.FloatField(_("seconds the count took"), default=0)
    places = models.JSONField(
        _("places"), default=list, help_text=_("The [region, district] pairs workers named.")
    )

    class Meta:
        verbose_name = _("figures count")
        verbose_name_plural = _("figures counts")

    def __str__(self) -> str:
        return f"{self.country}: {self.counted_at}"


class WorkerDimensions(models.Model):
    """A worker's profile, as it stood when the figures were counted: what the statistics
    group and filter by."""

    country = models.CharField(max_length=2)
    region = models.CharField(max_length=120, blank=True)
    district = models.CharField(max_length=120, blank=True)
    cadre = models.CharField(max_length=20, blank=True)
    sector = models.CharField(max_length=20, blank=True)
    is_paid = models.BooleanField(default=False)

    class Meta:
        abstract = True


class WorkerMilestones(WorkerDimensions):
    """A worker's first dates of each kind, so a date range counts the workers who first
    enrolled, completed a course or were certified in it; ``valid_until`` is the latest end
    of a certificate not revoked (``valid_open``: one has no end)."""

    # The summaries are derived and written whole by each count: no database constraint
    # checks each of their rows (Django still deletes them with their worker).
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    enrolled_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    certified_at = models.DateTimeField(null=True)
    valid_until = models.DateField(null=True)
    valid_open = models.BooleanField(default=False)

    class Meta:
        abstract = True


class WorkerFigures(WorkerMilestones):
    """Every worker of a country, once, with their first dates at any institution."""

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["country", "learner"], name="worker_figures_one_row_a_worker"
            )
        ]
        indexes = [models.Index(fields=["country", "region"], name="worker_figures_region")]

    def __str__(self) -> str:
        return f"{self.country} · {self.learner_id}"


class InstitutionWorkerFigures(WorkerMilestones):
    """A worker at one institution they enrolled at or were certified by, with their first
    dates there."""

    institution = models.ForeignKey(
        "lms.Institution", on_delete=models.CASCADE, related_name="+", db_constraint=False
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["country", "learner", "institution"],
                name="institution_worker_figures_one_row",
            )
        ]

    def __str__(self) -> str:
        return f"{self.country} · {self.learner_id} · {self.institution_id}"


class CertificateFigures(WorkerDimensions):
    """One certificate with its holder's profile: what the months chart counts.

    ``revoked_at`` is set only when it is revoked, ``expires_on`` only when it is not."""

    certificate = models.OneToOneField(
        "certificates.Certificate",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    institution = models.ForeignKey(
        "lms.Institution",
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True)
    expires_on = models.DateField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["country", "issued_at"], name="certificate_figures_issued"),
            models.Index(fields=["country", "revoked_at"], name="certificate_figures_revoked"),
            models.Index(fields=["country", "expires_on"], name="certificate_figures_expires"),
            # The region is the filter regulators use most: its months read an index too.
            models.Index(
                fields=["country", "region", "issued_at"], name="certificate_figures_r_issued"
            ),
            models.Index(
                fields=["country", "region", "expires_on"], name="certificate_figures_r_expires"
            ),
        ]

    def __str__(self) -> str:
        return str(self.certificate_id)


class CompetencyFigures(WorkerDimensions):
    """How many workers of one profile cell are proficient in a competency."""

    framework = models.ForeignKey(
        "competencies.Framework", on_delete=models.CASCADE, related_name="+"
    )
    competency = models.ForeignKey(
        "competencies.CompetencyItem", on_delete=models.CASCADE, related_name="+"
    )
    workers = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["country", "framework"], name="competency_figures_framework")
        ]

    def __str__(self) -> str:
        return f"{self.competency_id} · {self.region}: {self.workers}"
