"""xAPI content in a real browser, as an authoring tool's package runs against the LRS: a
tiny content page of our own (``tests/e2e/xapi_content/au.html``), served from another
origin, is launched with the LRS's endpoint, an institution's key and the learner as actor.
It saves its bookmark in the State resource, finds it again when opened anew, and reports
completion, which becomes progress on the module mapped to its activity.

Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``.
"""

import base64
import json
import threading
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from courses import services as course_services
from courses.models import ModuleCompletion, ModulePage, ProgressEvent, XapiDocument
from lms import services as lms_services

# The live server and the test share the database (see tests/e2e/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONTENT = Path(__file__).parent / "xapi_content"
ACTIVITY = "https://content.example.org/opening-a-case/au-1"
HOME = "https://lms.example.org"


@pytest.fixture
def content_origin():
    """The content, served from another origin than the live server's (localhost): its
    requests to the LRS are cross-origin, as a package hosted elsewhere makes them."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(CONTENT))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def launched(course, key_a, live_server, content_origin):
    """The course's first module mapped to ACTIVITY, learner ext-7 enrolled; the launch URL."""
    module = ModulePage.objects.child_of(course).order_by("path").first()
    module.xapi_activity_iri = ACTIVITY
    module.save_revision().publish()
    learner = lms_services.learner_match_or_create(
        institution=key_a[0].institution,
        external_id="ext-7",
        full_name="Achieng Otieno",
        cadre="volunteer",
        sector="community",
        region="Kisumu",
    ).identity.user
    course_services.enrol(learner=learner, course=course, by_institution=True)
    query = {
        "endpoint": f"{live_server.url}/xapi/",
        "auth": "Basic " + base64.b64encode(f"{key_a[1]}:".encode()).decode(),
        "actor": json.dumps(
            {"objectType": "Agent", "account": {"homePage": HOME, "name": "ext-7"}}
        ),
        "activity_id": ACTIVITY,
        "registration": str(uuid.uuid4()),
    }
    return f"{content_origin}/au.html?{urlencode(query)}", module, learner, key_a[0].institution


@pytest.mark.browser
def test_xapi_content_saves_state_across_a_reload_and_its_completion_is_progress(
    launched, open_page, shot
):
    url, module, learner, institution = launched
    page = open_page()
    page.goto(url)
    expect(page.locator("#slide")).to_have_text("Slide 1")
    shot(page, "launched")

    page.get_by_role("button", name="Next slide").click()
    expect(page.get_by_role("status")).to_contain_text('Saved slide 2 (ETag "')
    page.get_by_role("button", name="Next slide").click()
    expect(page.get_by_role("status")).to_contain_text("Saved slide 3")
    shot(page, "bookmark saved")
    document = XapiDocument.objects.get()
    assert json.loads(bytes(document.content)) == {"slide": 3}
    assert document.institution == institution

    page.reload()
    expect(page.locator("#slide")).to_have_text("Slide 3")
    shot(page, "bookmark read back")

    page.get_by_role("button", name="Finish").click()
    expect(page.get_by_role("status")).to_have_text("Completed")
    shot(page, "completed")
    assert ProgressEvent.objects.filter(learner=learner, module=module, source="xapi").exists()
    assert ModuleCompletion.objects.filter(learner=learner, module=module).exists()
    # Only the first read of a bookmark not saved yet failed: 404, as xAPI answers it.
    assert [failure.split(" ")[0] for failure in page.failures] == ["404"]
    assert "/xapi/activities/state?" in page.failures[0]
