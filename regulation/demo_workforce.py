"""A few hundred demo workers across Kenya's regions, so the workspace's charts look like a
country's: profiles, enrolments in the demo course, certificates issued over two years
(some revoked, some expiring soon) and competencies attained.

These are records as the other apps store them, written in bulk: issuing each certificate
through the certificates app would render a PDF for each, minutes of a first ``make run``.
Their certificates are left unrendered (no PDF is asked of them: the workers cannot log in).
"""

import datetime
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from lms import services as lms_services

#: Region → (districts, weight): how many of the workers live there.
REGIONS = {
    "Nairobi": (["Kibra", "Embakasi", "Westlands"], 9),
    "Mombasa": (["Mvita", "Likoni"], 4),
    "Kisumu": (["Kisumu Central", "Nyando"], 4),
    "Nakuru": (["Naivasha", "Nakuru Town"], 4),
    "Kiambu": (["Thika", "Ruiru"], 4),
    "Turkana": (["Lodwar"], 1),
    "Garissa": (["Dadaab"], 1),
    "Kakamega": (["Lurambi", "Mumias"], 3),
}
WORKERS = 300
FIRST = [
    "Amina",
    "Brian",
    "Cynthia",
    "David",
    "Esther",
    "Faith",
    "George",
    "Halima",
    "Ian",
    "Joy",
    "Kevin",
    "Lucy",
    "Moses",
    "Njeri",
    "Omar",
    "Purity",
    "Samuel",
    "Wanjiku",
]
LAST = [
    "Achieng",
    "Barasa",
    "Chebet",
    "Kamau",
    "Kiptoo",
    "Mohamed",
    "Mutua",
    "Njoroge",
    "Odhiambo",
    "Otieno",
    "Wafula",
    "Wambui",
]


def registration_number(n: int) -> str:
    return f"KE-SSW-{n:06d}"


@transaction.atomic
def seed() -> int:
    """Create the workers once; how many were created."""
    from certificates.codes import code_generate
    from certificates.models import Certificate, CertificateTemplate
    from competencies.models import CompetencyAttainment, ScaleLevel
    from competencies.selectors import framework_competencies
    from courses.models import CoursePage, Enrolment

    user_model = get_user_model()
    if user_model.objects.filter(username="worker-0001").exists():
        return 0
    course = CoursePage.objects.filter(slug="case-management").first()
    if course is None:
        return 0
    institution = course.institution
    template = CertificateTemplate.objects.filter(institution=institution).first()
    rng = random.Random(21)  # noqa: S311 - the same demo country at every run, not a secret
    now = timezone.now()
    regions = [region for region, (_d, weight) in REGIONS.items() for _ in range(weight)]
    workers = []
    for n in range(1, WORKERS + 1):
        user = user_model(username=f"worker-{n:04d}")
        user.set_unusable_password()
        workers.append(user)
    user_model.objects.bulk_create(workers)
    workers = list(user_model.objects.filter(username__startswith="worker-").order_by("username"))
    enrolments, certificates = [], []
    base_index = 10 * 131072 + rng.randrange(131072)
    for n, user in enumerate(workers, start=1):
        region = rng.choice(regions)
        lms_services.learner_profile_save(
            user=user,
            full_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            cadre=rng.choices(["professional", "para_professional", "volunteer"], [3, 5, 4])[0],
            is_paid=rng.random() < 0.55,
            sector=rng.choices(["government", "ngo", "community"], [4, 3, 3])[0],
            organisation="",
            country="KE",
            region=region,
            district=rng.choice(REGIONS[region][0]),
            worker_registration_number=registration_number(n),
            preferred_language="en",
            listed_in_register=rng.random() < 0.6,
        )
        if rng.random() < 0.15:
            continue  # registered, not enrolled yet
        enrolled_at = now - datetime.timedelta(days=rng.randrange(30, 760))
        completed = rng.random() < 0.7
        completed_at = enrolled_at + datetime.timedelta(days=rng.randrange(7, 60))
        completed = completed and completed_at < now
        enrolments.append(
            Enrolment(
                learner=user,
                course=course,
                status="completed" if completed else "active",
                enrolled_at=enrolled_at,
                completed_at=completed_at if completed else None,
            )
        )
        if not completed or template is None:
            continue
        issued_at = completed_at
        valid_until = timezone.localdate(issued_at) + datetime.timedelta(days=730)
        revoked = rng.random() < 0.04
        certificates.append(
            Certificate(
                code=code_generate(),
                status_list_index=base_index + n,
                learner=user,
                course=course,
                course_version="1.0",
                institution=institution,
                template=template,
                method="automatic",
                holder_name=user.learner_profile.full_name,
                course_title=course.title,
                institution_name=institution.name,
                cpd_hours=course.cpd_hours,
                issued_at=issued_at,
                valid_until=valid_until,
                state="revoked" if revoked else "active",
                revoked_at=issued_at + datetime.timedelta(days=90) if revoked else None,
                revocation_reason="Issued in error" if revoked else "",
            )
        )
    Enrolment.objects.bulk_create(enrolments)
    Certificate.objects.bulk_create(certificates)
    _attain(
        rng,
        course,
        [c.learner for c in certificates],
        CompetencyAttainment,
        ScaleLevel,
        framework_competencies,
    )
    return len(workers)


def _attain(rng, course, learners, attainment_model, level_model, framework_competencies):
    """Proficiency in the demo framework's competencies, more common in the cities."""
    framework = course.framework
    if framework is None:
        return
    proficient = level_model.objects.filter(framework=framework, is_proficient=True).first()
    if proficient is None:
        return
    competencies = list(framework_competencies(framework=framework))
    now = timezone.now()
    rows = []
    for learner in learners:
        urban = learner.learner_profile.region in {"Nairobi", "Mombasa", "Kisumu", "Kiambu"}
        for item in competencies:
            if rng.random() < (0.75 if urban else 0.4):
                rows.append(
                    attainment_model(
                        learner=learner,
                        competency=item,
                        framework=framework,
                        level=proficient,
                        since=now,
                        via="direct",
                    )
                )
    attainment_model.objects.bulk_create(rows, ignore_conflicts=True)
