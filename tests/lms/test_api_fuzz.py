"""Schemathesis against the JSON API, in process, on the test database.

Every operation of /api/v1 and of the CASE API gets generated requests, valid and invalid,
with an API key of the demo institution (``seed_demo``), and every response goes through all
of Schemathesis's default checks: no 500, only documented statuses and content types,
bodies as their schemas say, invalid input refused, valid input accepted. Path parameters
are the demo's real learner, framework, competency and certificate as often as generated
ones, so that requests get past the 404s.

``FUZZ_EXAMPLES`` (default 50) and ``FUZZ_SEED`` (default 19) set the run's size and its
fixed seed; ``make fuzz-api`` runs it with 500 examples per operation and prints the count
of cases and failures.
"""

import io
import os
from collections import Counter

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
SEED = int(os.environ.get("FUZZ_SEED", "19"))

#: What the run did: cases per operation, and the operations that failed.
tally: Counter = Counter()
failed: set[str] = set()


#: The demo's ids for each path parameter, and its API key: filled in by the ``demo`` fixture.
REAL_IDS: dict[str, list[str]] = {}
KEYS: list[str] = []


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, seeded once for the module in a transaction rolled back at its end,
    and requests through the WSGI handler that leave the test's connection open (as
    Django's test client does). Returns the demo institution's API key."""
    from certificates.models import Certificate
    from competencies.models import CompetencyItem, Framework
    from courses import ingest
    from courses.models import CoursePage
    from lms import services
    from lms.models import Institution

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            call_command("seed_demo", stdout=io.StringIO())
            institution = Institution.objects.get(slug="ubuntu-institute")
            manager = institution.memberships.get(role="manager").user
            _api_key, key = services.api_key_create(
                institution=institution, name="Schemathesis", created_by=manager
            )
            learner = services.learner_match_or_create(
                institution=institution,
                external_id="moodle-42",
                full_name="Wanjiru Kamau",
                cadre="volunteer",
                sector="community",
            )
            ingest.learner_enrol_by_institution(
                institution=institution,
                learner=learner.identity.user,
                course_id=CoursePage.objects.get().pk,
            )
            framework = Framework.objects.filter(owner_institution=institution).first()
            item = CompetencyItem.objects.filter(framework=framework).first()
            REAL_IDS.update(
                external_id=["moodle-42"],
                identifier=[str(framework.identifier), str(item.identifier)],
                code=[Certificate.objects.get().display_code],
            )
            KEYS.append(key)
            yield key
        finally:
            REAL_IDS.clear()
            KEYS.clear()
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
        print(
            f"\nschemathesis: {sum(tally.values())} cases over {len(tally)} operations, "
            f"{len(failed)} failing operations{': ' + ', '.join(sorted(failed)) if failed else ''}"
        )


#: What a schema cannot say, so Schemathesis is told here: a valid request to these may still
#: be refused with 400 (the file's content, not its shape, is checked by the import; a new
#: learner needs full_name, cadre and sector, which matching an existing one does not, and
#: an e-mail address or username that the account model accepts).
CONTENT_CHECKED_LATER = [
    ("POST", "/api/v1/frameworks/import"),
    ("POST", "/api/v1/learners"),
]
ACCEPTED_OR_400 = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]


def _schema(url: str):
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": EXAMPLES},
            "operations": [
                {
                    "include-method": method,
                    "include-path": path,
                    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_400}},
                }
                for method, path in CONTENT_CHECKED_LATER
            ],
        }
    )
    schema = schemathesis.openapi.from_wsgi(url, get_wsgi_application(), config=config)

    @schema.hook("flatmap_path_parameters")
    def real_ids(context, path_parameters):
        """The demo's ids as often as generated values: past the 404s, and around them."""
        if not path_parameters:
            return st.just(path_parameters)
        choices = [
            {**path_parameters, name: value}
            for name in path_parameters
            for value in REAL_IDS.get(name, ())
        ]
        return st.sampled_from([path_parameters, *choices])

    @schema.auth(refresh_interval=None)
    class DemoKey:
        """The demo institution's API key, as every request's X-API-Key (sessions aside)."""

        def get(self, case, context):
            return KEYS[0] if KEYS else None

        def set(self, case, key, context):
            case.headers = {**(case.headers or {}), "X-API-Key": key}

    return schema


api = _schema("/api/v1/openapi.json")
case_api = _schema("/ims/case/v1p1/openapi.json")

FUZZ_SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _call(case) -> None:
    name = f"{case.operation.method.upper()} {case.operation.path}"
    tally[name] += 1
    try:
        case.call_and_validate()
    except BaseException:
        failed.add(name)
        raise


@pytest.mark.django_db
@api.parametrize()
@FUZZ_SETTINGS
def test_the_api_keeps_its_schema_whatever_it_is_sent(case, demo):
    _call(case)


@pytest.mark.django_db
@case_api.parametrize()
@FUZZ_SETTINGS
def test_the_case_api_keeps_its_schema_whatever_it_is_sent(case, demo):
    _call(case)
