"""Demo data of the core app: two institutions and one login per role.

Seeding is idempotent: running it again finds what exists and changes nothing.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from lms import services
from lms.models import Institution
from lms.roles import InstitutionRole

DEMO_PASSWORD = "learn-and-protect"


@dataclass(frozen=True)
class DemoLogin:
    """A demo login, as ``seed_demo`` prints it: who it is, and where to start trying it."""

    username: str
    email: str
    role: str
    institution_slug: str | None
    #: The page to open first (a path on the site), and what to try there.
    start: str = "/"
    try_first: str = ""


INSTITUTIONS = [
    {
        "name": "Ubuntu Institute of Social Service",
        "slug": "ubuntu-institute",
        "country": "KE",
        "accreditation_number": "SSWC/ACC/2021/014",
        "signatory_name": "Dr. Achieng Otieno",
        "signatory_title": "Principal",
    },
    {
        "name": "Mekong Community Care College",
        "slug": "mekong-college",
        "country": "KH",
        "accreditation_number": "MoSVY-TI-0087",
        "signatory_name": "Sok Chanthy",
        "signatory_title": "Director of Training",
    },
]

LOGINS = [
    DemoLogin(
        "trainee",
        "",
        "trainee",
        None,
        "/learning/",
        "My learning: enrol in the demo course and take its modules (logs in by username)",
    ),
    DemoLogin(
        "supervisor",
        "supervisor@example.org",
        InstitutionRole.SUPERVISOR,
        "ubuntu-institute",
        "/learn/observations/",
        "record a workplace observation of a trainee",
    ),
    DemoLogin(
        "author",
        "author@example.org",
        InstitutionRole.AUTHOR,
        "ubuntu-institute",
        "/admin/",
        "Pages: edit the demo course and its modules, mapped to competencies",
    ),
    DemoLogin(
        "instructor",
        "instructor@example.org",
        InstitutionRole.INSTRUCTOR,
        "ubuntu-institute",
        "/admin/cohorts/",
        "Cohorts: a cohort's progress and its competency grid",
    ),
    DemoLogin(
        "manager",
        "manager@example.org",
        InstitutionRole.MANAGER,
        "ubuntu-institute",
        "/admin/",
        "set up two-factor authentication, then API keys, webhooks and certificates",
    ),
    DemoLogin(
        "author-mekong",
        "author@mekong.example.org",
        InstitutionRole.AUTHOR,
        "mekong-college",
        "/admin/",
        "the same admin, showing only the other institution's pages",
    ),
    DemoLogin(
        "regulator",
        "regulator@council.example.org",
        "regulator",
        None,
        "/regulation/",
        "set up two-factor authentication, then the workspace: statistics, planning, CPD, register",
    ),
    DemoLogin(
        "admin",
        "admin@example.org",
        "superuser",
        None,
        "/django-admin/",
        "set up two-factor authentication, then everything (the Wagtail admin too)",
    ),
]


@transaction.atomic
def seed() -> list[DemoLogin]:
    for data in INSTITUTIONS:
        if not Institution.objects.filter(slug=data["slug"]).exists():
            services.institution_create(**data)
    user_model = get_user_model()
    for login in LOGINS:
        user, created = user_model.objects.get_or_create(
            username=login.username, defaults={"email": login.email}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if login.role == "superuser":
                user.is_staff = user.is_superuser = True
            user.save()
            if login.email:
                from allauth.account.models import EmailAddress

                EmailAddress.objects.get_or_create(
                    user=user, email=login.email, defaults={"verified": True, "primary": True}
                )
        if login.role == "trainee" and not hasattr(user, "learner_profile"):
            services.learner_profile_save(
                user=user,
                full_name="Amina Wanjiru",
                cadre="para_professional",
                is_paid=False,
                sector="community",
                organisation="Kibera Child Protection Volunteers",
                country="KE",
                region="Nairobi",
                district="Kibra",
                worker_registration_number="",
                preferred_language="en",
            )
        # The "regulator" login holds no role here: the regulation app's demo makes it a
        # member of its council (regulation/demo.py), which is what the role is.
        if login.institution_slug:
            services.membership_grant(
                user=user,
                institution=Institution.objects.get(slug=login.institution_slug),
                role=login.role,
            )
    return LOGINS
