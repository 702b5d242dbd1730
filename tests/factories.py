"""factory_boy factories. Records with rules (roles, profiles) are made through the services."""

import factory
from django.contrib.auth import get_user_model

from lms.demo import DEMO_PASSWORD

TEST_PASSWORD = DEMO_PASSWORD


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])


def learner_profile_data(**overrides) -> dict:
    data = {
        "full_name": "Amina Njoroge",
        "cadre": "para_professional",
        "is_paid": False,
        "sector": "community",
        "organisation": "Kibera Child Protection Volunteers",
        "country": "KE",
        "region": "Nairobi",
        "district": "Kibra",
        "worker_registration_number": "",
        "preferred_language": "en",
    }
    data.update(overrides)
    return data
