"""Who is a regulator, and which jurisdiction each one reads: the seam the regulation app fills.

The regulator role is membership of a regulatory body, which the ``regulation`` app keeps.
The core app and the apps above it (competencies, courses, certificates) must not import
``regulation`` (apps import one way; ``pyproject.toml``), so they ask through
:func:`lms.selectors.regulator_jurisdiction` and :func:`lms.selectors.regulator_users_q`,
which call the Wagtail hooks named here. ``regulation/hooks.py`` answers them; a site without
the regulation app has no regulators at all.

A jurisdiction is a country, optionally narrowed to regions of it. Workers (learner
profiles) and their certificates are matched by the profile's country and region;
institutions and frameworks, which have a country but no region, by country.
"""

from dataclasses import dataclass

from django.db.models import Q

#: ``fn(user) -> Jurisdiction | None``: the jurisdiction ``user`` regulates, or None.
REGULATOR_JURISDICTION_HOOK = "regulator_jurisdiction"
#: ``fn() -> QuerySet``: the primary keys of every regulator's account (for subqueries).
REGULATOR_USER_IDS_HOOK = "regulator_user_ids"


@dataclass(frozen=True)
class Jurisdiction:
    """A country (ISO 3166-1 alpha-2) and, when not empty, the only regions of it covered."""

    country: str
    regions: tuple[str, ...] = ()

    def profiles_q(self, prefix: str = "") -> Q:
        """The learner profiles covered, on the profile reached by ``prefix`` (e.g.
        ``learner__learner_profile__`` from a certificate, ``""`` on profiles)."""
        condition = Q(**{f"{prefix}country": self.country})
        if self.regions:
            condition &= Q(**{f"{prefix}region__in": list(self.regions)})
        return condition

    def covers_profile(self, profile) -> bool:
        """Whether a learner profile (or None) is in the jurisdiction."""
        if profile is None or profile.country != self.country:
            return False
        return not self.regions or profile.region in self.regions
