"""Schemathesis against the JSON APIs, in process, on the test database.

Every operation of /api/v1 and of the CASE API gets generated requests, valid and invalid,
with an API key of the demo institution (``seed_demo``), and every response goes through all
of Schemathesis's default checks: no 500, only documented statuses, content types and
headers, bodies as their schemas say, invalid input refused, valid input accepted, auth not
ignored, undocumented methods refused. Valid requests name the demo's real learner, course,
framework, competency and certificate as often as generated ones (and a new learner gets
what creating one needs; an import gets a real CASE file), so they get past the 404s: the
last test checks that every operation answered 2xx at least once, and prints the figures.

``FUZZ_EXAMPLES`` (default 50) and ``FUZZ_SEED`` (default 19) set the run's size and its
fixed seed; ``make fuzz-api`` runs it with 500 examples an operation.
"""

import io
import json
import os
import re
import uuid
from collections import Counter, defaultdict

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

#: What a schema cannot say, so Schemathesis is told here: a valid request to these may
#: still be refused with 400. The import checks the file's content, not only its shape; a
#: new learner needs full_name, cadre and sector (matching an existing one does not), and
#: an e-mail address and username that the account model accepts.
CONTENT_CHECKED_LATER = [
    ("POST", "/api/v1/frameworks/import"),
    ("POST", "/api/v1/learners"),
]
ACCEPTED_OR_400 = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
#: What creating a learner needs besides the external id.
NEW_LEARNER = {"full_name": "Wanjiru Kamau", "cadre": "volunteer", "sector": "community"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

#: The demo's ids by parameter or body field, its API key and a CASE export of its framework:
#: filled in by the ``demo`` fixture.
REAL_IDS: dict[str, list] = {}
DEMO: dict[str, str] = {}

#: What the run did: cases and statuses per operation, and the operations that failed.
tally: Counter = Counter()
statuses: dict[str, Counter] = defaultdict(Counter)
failed: set[str] = set()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, seeded once for the module in a transaction rolled back at its end,
    and requests through the WSGI handler that leave the test's connection open (as
    Django's test client does)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            _seed()
            yield
        finally:
            REAL_IDS.clear()
            DEMO.clear()
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _seed() -> None:
    from django.conf import settings as django_settings

    from certificates.models import Certificate
    from competencies.interchange import export_case_package
    from competencies.models import CompetencyItem, Framework
    from competencies.selectors import framework_data
    from courses import ingest
    from courses.models import CoursePage
    from lms import services
    from lms.models import Institution

    call_command("seed_demo", stdout=io.StringIO())
    institution = Institution.objects.get(slug="ubuntu-institute")
    manager = institution.memberships.get(role="manager").user
    _api_key, DEMO["key"] = services.api_key_create(
        institution=institution, name="Schemathesis", created_by=manager
    )
    course = CoursePage.objects.get(locale__language_code="en")  # the original, not its French
    learner = services.learner_match_or_create(
        institution=institution, external_id="moodle-42", **NEW_LEARNER
    )
    ingest.learner_enrol_by_institution(
        institution=institution, learner=learner.identity.user, course_id=course.pk
    )
    framework = Framework.objects.filter(owner_institution=institution).first()
    item = CompetencyItem.objects.filter(framework=framework).first()
    REAL_IDS.update(
        external_id=["moodle-42"],
        identifier=[str(framework.identifier), str(item.identifier)],
        code=[Certificate.objects.get(learner__username="graduate").display_code],
        course_id=[course.pk],
        learner=["moodle-42"],
    )
    from regulation import services as regulation_services
    from regulation.models import RegulatoryBody

    body = RegulatoryBody.objects.get(slug="kenya-council")
    _regulator_key, DEMO["regulator_key"] = regulation_services.regulator_api_key_create(
        body=body, name="Schemathesis", created_by=None
    )
    REAL_IDS.update(body=[body.slug], registration_number=["KE-SSW-000001"])
    package = export_case_package(
        framework_data(framework=framework), base_url=django_settings.SITE_BASE_URL
    )
    DEMO["case_file"] = json.dumps(package)


def _fresh_case_file() -> str:
    """The demo framework as a CASE file with new identifiers and title: one more import.

    Text, not bytes: Schemathesis takes a body holding bytes for an invalid one."""
    mapping: dict[str, str] = {}
    text = _UUID.sub(lambda m: mapping.setdefault(m.group(), str(uuid.uuid4())), DEMO["case_file"])
    package = json.loads(text)
    package["CFDocument"]["title"] += f" ({uuid.uuid4().hex[:8]})"
    return json.dumps(package)


def _real_variants(case) -> list:
    """Ways to make a valid request name something that exists (or create something)."""
    variants = [
        ("path", name, value)
        for name in case.path_parameters or ()
        for value in REAL_IDS.get(name, ())
    ]
    body = case.body if isinstance(case.body, dict) else {}
    variants += [("body", name, value) for name in body for value in REAL_IDS.get(name, ())]
    if len(variants) > 1:
        variants.append(("all", "", None))  # every one of them real at once
    path = case.operation.path
    if path == "/api/v1/learners":
        variants += [("body", name, value) for name, value in NEW_LEARNER.items()]
        # drawn as often as the others together: the one that creates (it needs them all)
        variants += [("new learner", "", None)] * len(variants)
    if path == "/api/v1/frameworks/import":
        variants.append(("import", "file", None))
    if path == "/api/v1/progress/events" and body.get("events"):
        variants.append(("events", "learner", None))
    return variants


def _apply(case, variant):
    if variant is None:
        return case
    where, name, value = variant
    if where == "all":
        for each in _real_variants(case):
            if each[0] in ("path", "body"):
                _apply(case, each)
    elif where == "path":
        case.path_parameters = {**case.path_parameters, name: value}
    elif where == "body":
        case.body = {**case.body, name: value}
    elif where == "new learner":
        # what creating one needs, and no generated e-mail address or username the account
        # model may refuse (those are optional)
        case.body = {**case.body, **NEW_LEARNER, "email": None, "username": None}
    elif where == "import":
        case.body = {"file": _fresh_case_file(), "format": "case"}
    elif where == "events":
        real = {"learner": "moodle-42", "course_id": REAL_IDS["course_id"][0]}
        events = [
            {**event, **real} if isinstance(event, dict) else event for event in case.body["events"]
        ]
        case.body = {**case.body, "events": events}
    return case


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

    @schema.hook("flatmap_case")
    def real_things(context, case):
        """Valid requests name the demo's things as often as generated ones: past the 404s,
        and around them. Invalid requests keep what was generated to be invalid."""
        positive = case.meta is not None and case.meta.generation.mode.is_positive
        variants = _real_variants(case) if positive else []
        if not variants:
            return st.just(case)
        return st.sampled_from([None, *variants]).map(lambda variant: _apply(case, variant))

    @schema.auth(refresh_interval=None).apply_to(path_regex="/regulation/")
    class RegulatorKey:
        """The demo regulatory body's API key, for the regulator endpoints."""

        def get(self, case, context):
            return DEMO.get("regulator_key")

        def set(self, case, key, context):
            case.headers = {**(case.headers or {}), "X-Regulator-Key": key}

    @schema.auth(refresh_interval=None).skip_for(path_regex="/regulation/")
    class DemoKey:
        """The demo institution's API key, as every other request's X-API-Key."""

        def get(self, case, context):
            return DEMO.get("key")

        def set(self, case, key, context):
            case.headers = {**(case.headers or {}), "X-API-Key": key}

    return schema


api = _schema("/api/v1/openapi.json")
case_api = _schema("/ims/case/v1p1/openapi.json")

FUZZ_SETTINGS = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def _call(case) -> None:
    name = f"{case.operation.method.upper()} {case.operation.path}"
    tally[name] += 1
    try:
        response = case.call_and_validate()
    except BaseException:
        failed.add(name)
        raise
    statuses[name][response.status_code] += 1


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


def test_the_run_got_past_the_404s_and_says_what_it_did(capsys):
    """Every operation answered 2xx at least once (the real ids work); then the figures:
    cases, failing operations, and each operation's statuses."""
    if not tally:
        pytest.skip("the fuzzing tests did not run")
    with capsys.disabled():
        print()
        for name in sorted(statuses):
            counts = ", ".join(f"{status}×{n}" for status, n in sorted(statuses[name].items()))
            print(f"  {name}: {counts}")
        print(
            f"schemathesis (seed {SEED}, {EXAMPLES} examples an operation): "
            f"{sum(tally.values())} cases over {len(tally)} operations; "
            f"{len(failed)} failing operations: {', '.join(sorted(failed)) or 'none'}"
        )
    never_ok = [name for name in tally if not any(200 <= s < 300 for s in statuses[name])]
    assert not never_ok, f"never answered 2xx: {never_ok}"
