"""Core records: institutions, who works for them in which role, learners, and API keys."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from lms.roles import InstitutionRole


class Institution(models.Model):
    """A training institution: it authors courses, trains learners and issues certificates."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    country = models.CharField(
        _("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code, e.g. KE, ZA, KH.")
    )
    accreditation_number = models.CharField(_("accreditation number"), max_length=80, blank=True)
    logo = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("logo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    signatory_name = models.CharField(_("signatory name"), max_length=200, blank=True)
    signatory_title = models.CharField(_("signatory title"), max_length=200, blank=True)
    # The institution's section of the Wagtail page tree and its media collection. Its
    # staff's Wagtail permissions are granted on these, so they see and edit only their own.
    root_page = models.ForeignKey(
        "wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    collection = models.ForeignKey(
        "wagtailcore.Collection", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A person's role at an institution. One row per role held."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=InstitutionRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["institution__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "institution", "role"], name="membership_unique_role"
            ),
        ]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.institution}"


class InstitutionGroup(models.Model):
    """The Django/Wagtail group that carries one role's permissions at one institution."""

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="role_groups"
    )
    role = models.CharField(max_length=20, choices=InstitutionRole.choices)
    group = models.OneToOneField("auth.Group", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "role"], name="institution_group_unique_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.institution} · {self.get_role_display()}"


class Cadre(models.TextChoices):
    PROFESSIONAL = "professional", _("Professional")
    PARA_PROFESSIONAL = "para_professional", _("Para-professional")
    VOLUNTEER = "volunteer", _("Volunteer")


class Sector(models.TextChoices):
    GOVERNMENT = "government", _("Government")
    NGO = "ngo", _("Non-governmental organisation")
    COMMUNITY = "community", _("Community-based")


def language_choices():
    """The site's LANGUAGES, read when used: a host's own list never alters a migration."""
    return settings.LANGUAGES


class LearnerProfile(models.Model):
    """Who a learner is as a worker. Personal data: shown only to them and their institutions.

    Regulators' workforce statistics count these fields (cadre, region…) in aggregate.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learner_profile"
    )
    full_name = models.CharField(
        _("full name"),
        max_length=200,
        help_text=_("As it should be printed on your certificates."),
    )  # personal data
    cadre = models.CharField(_("cadre"), max_length=20, choices=Cadre.choices)
    is_paid = models.BooleanField(_("paid for this work"), default=False)
    sector = models.CharField(_("sector"), max_length=20, choices=Sector.choices)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    country = models.CharField(
        _("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2 code, e.g. KE.")
    )
    region = models.CharField(_("region or province"), max_length=120, blank=True)
    district = models.CharField(_("district"), max_length=120, blank=True)
    worker_registration_number = models.CharField(
        _("worker registration number"),
        max_length=80,
        blank=True,
        help_text=_("Your number with the social service council, if you have one."),
    )  # personal data
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=language_choices, default="en"
    )
    listed_in_register = models.BooleanField(
        _("list me in the public register"),
        default=False,
        help_text=_(
            "Anyone may then find your name, cadre and valid certificates in your regulatory "
            "body's public register. Off by default."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("learner profile")
        verbose_name_plural = _("learner profiles")
        constraints = [
            models.UniqueConstraint(
                fields=["country", "worker_registration_number"],
                condition=~Q(worker_registration_number=""),
                name="learner_profile_unique_registration_number",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name


class LearnerIdentity(models.Model):
    """Who a learner is in another system an institution runs (a Moodle user id, say, or
    the worker registration number), so that its LMS can address them through the API.

    External ids are the institution's own: the same id at two institutions may be two
    different people, and an institution's key never reaches another institution's ids.
    """

    institution = models.ForeignKey(
        Institution, on_delete=models.CASCADE, related_name="learner_identities"
    )
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        help_text=_("The learner's id in the institution's own LMS or register."),
    )  # personal data (may be a worker registration number)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learner_identities"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("learner identity")
        verbose_name_plural = _("learner identities")
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "external_id"], name="learner_identity_unique_external_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} @ {self.institution}"


class ApiKey(models.Model):
    """A secret another system (an LMS) uses to act for one institution through the API.

    Only a SHA-256 digest of the key is kept: the key itself is shown once, at creation.
    Keys carry 256 bits of randomness, so a fast digest is as safe as a slow password hash.
    """

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, help_text=_("What uses this key."))
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_digest = models.CharField(max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- Outbound webhooks ----------------------------------------------------------------------


class WebhookEvent(models.TextChoices):
    MODULE_COMPLETED = "module_completed", _("Module completed")
    COMPETENCY_ATTAINED = "competency_attained", _("Competency attained")
    CERTIFICATE_ISSUED = "certificate_issued", _("Certificate issued")


def _all_webhook_events() -> list[str]:
    return list(WebhookEvent.values)


class Webhook(models.Model):
    """An institution's endpoint told about its learners' progress as it happens.

    Every request is signed with an HMAC of its body under ``secret``; the secret is generated
    by :func:`lms.services.webhook_create` and shown once. It is kept as it is (not a digest)
    because signing needs it.
    """

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(max_length=100, editable=False)
    events = models.JSONField(
        _("events"),
        default=_all_webhook_events,
        help_text=_("Which events to send: module_completed, competency_attained, …"),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["institution", "created_at"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return f"{self.url} ({self.institution})"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")  # gave up after the last retry


class WebhookDelivery(models.Model):
    """One event sent (or being sent) to one webhook, with its attempts: the delivery log."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["webhook", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook.url} ({self.status})"
