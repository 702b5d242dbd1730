"""Demo data of the regulation app: a council for Kenya, its regulator, population figures,
a CPD requirement and a few hundred workers (:mod:`regulation.demo_workforce`).

The demo's "regulator" login becomes a member of the council: the global regulator role of
earlier demos is now membership of a body. Idempotent, like every seed.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from regulation import services
from regulation.models import PopulationFigure, RegulatoryBody

BODY = {
    "name": "Kenya National Council for Social Service Work",
    "slug": "kenya-council",
    "country": "KE",
}
#: Rounded figures in the shape of Kenya's (total population, children under 18).
POPULATION = [
    ("Nairobi", 4_400_000, 1_500_000),
    ("Mombasa", 1_200_000, 460_000),
    ("Kisumu", 1_150_000, 560_000),
    ("Nakuru", 2_160_000, 1_000_000),
    ("Kiambu", 2_420_000, 950_000),
    ("Turkana", 930_000, 520_000),
    ("Garissa", 840_000, 460_000),
    ("Kakamega", 1_870_000, 920_000),
]


@transaction.atomic
def seed() -> RegulatoryBody:
    body = RegulatoryBody.objects.filter(slug=BODY["slug"]).first()
    if body is None:
        body = services.body_create(**BODY)
        services.target_set(body=body, children_per_worker=1000)
    regulator = get_user_model().objects.filter(username="regulator").first()
    if regulator is not None:
        services.regulator_add(user=regulator, body=body)
    if not PopulationFigure.objects.filter(body=body).exists():
        lines = ["region,total_population,children_under_18"]
        lines += [f"{region},{total},{children}" for region, total, children in POPULATION]
        services.population_replace(body=body, content="\n".join(lines).encode())
    from regulation import demo_workforce

    demo_workforce.seed()
    if not body.cpd_requirements.exists():
        today = timezone.localdate()
        services.requirement_create(
            body=body,
            created_by=regulator,
            title=f"Annual CPD {today.year}",
            cadre="",
            hours=Decimal("20"),
            period_start=today.replace(month=1, day=1),
            period_end=today.replace(month=12, day=31),
        )
    return body
