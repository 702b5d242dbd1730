"""Regulatory bodies, the regulators who work for them, and the figures they plan with.

A body's jurisdiction is a country (ISO 3166-1 alpha-2), optionally narrowed to regions of
it: the workers it sees are those whose learner profile is in that country (and region).
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

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
