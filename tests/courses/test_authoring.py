"""Authoring courses in the Wagtail admin, through the test client and Wagtail's own views:
where course and module pages may go, who may add them, what a module's content and
competency mapping must satisfy, and what republishing does to learners' progress.

The POST data is what Wagtail 8's page editor sends (its StreamField and InlinePanel widgets
build these fields in the browser):

* a StreamField ``body``: ``body-count`` and, per block *i*, ``body-i-type``, ``body-i-id``
  (the block's UUID, kept across revisions), ``body-i-order``, ``body-i-deleted`` (empty, or
  a value to drop the block) and its value under ``body-i-value``; a StructBlock's children
  under ``…-value-<name>``; a ListBlock like a stream without ``type``
  (``…-count``, ``…-i-id``, ``…-i-order``, ``…-i-deleted``, ``…-i-value``); a RichTextBlock
  as Draftail's ContentState JSON; a BooleanBlock as ``on`` or absent;
* an InlinePanel ``competency_mappings``: Django's formset management fields
  (``-TOTAL_FORMS``, ``-INITIAL_FORMS``, ``-MIN_NUM_FORMS``, ``-MAX_NUM_FORMS``) and per form
  ``-i-competency``, ``-i-target_level``, ``-i-id``, ``-i-ORDER``, ``-i-DELETE``;
* ``action-publish`` to publish instead of saving a draft.
"""

import uuid

import pytest
from django.core.exceptions import ValidationError
from wagtail import blocks as wagtail_blocks
from wagtail.admin.rich_text import get_rich_text_editor_widget
from wagtail.models import Page
from wagtail.test.utils.form_data import querydict_from_html

from competencies import services as competencies_services
from competencies.models import CompetencyItem, ScaleLevel
from courses import selectors, services
from courses.models import (
    CourseIndexPage,
    CoursePage,
    Enrolment,
    InstitutionPage,
    ModuleCompetency,
    ModuleCompletion,
    ModulePage,
    QuizAttempt,
)
from tests.conftest import enable_totp

pytestmark = pytest.mark.django_db

DENIED = "Sorry, you do not have permission to access this area."


# --- Helpers ------------------------------------------------------------------------------


def add_url(model, parent) -> str:
    return f"/admin/pages/add/courses/{model._meta.model_name}/{parent.pk}/"


def edit_url(page) -> str:
    return f"/admin/pages/{page.pk}/edit/"


def rich_text(html: str) -> str:
    """``html`` as the Draftail editor posts it (ContentState JSON)."""
    return get_rich_text_editor_widget().format_value(html)


def level(framework, name: str) -> ScaleLevel:
    return framework.levels.get(name=name)


def item(framework, code: str) -> CompetencyItem:
    return framework.items.get(code=code)


def course_post_data(framework, **overrides) -> dict:
    data = {
        "title": "Referral and follow-up",
        "slug": "referral",
        "summary": "Refer children and families to the services they need, and follow up.",
        "description": rich_text("<p>Four short lessons.</p>"),
        "for_professionals": "on",
        "for_para_professionals": "on",
        "for_volunteers": "on",
        "language": "en",
        "cpd_hours": "1.5",
        "estimated_minutes": "45",
        "framework": str(framework.pk),
        "self_enrolment": "on",
        "max_quiz_attempts": "0",
        "action-publish": "action-publish",
    }
    data.update(overrides)
    return data


def mappings_data(mappings: list[tuple[int, int]]) -> dict:
    """InlinePanel formset data for new (competency pk, target level pk) mappings."""
    data = {
        "competency_mappings-TOTAL_FORMS": str(len(mappings)),
        "competency_mappings-INITIAL_FORMS": "0",
        "competency_mappings-MIN_NUM_FORMS": "0",
        "competency_mappings-MAX_NUM_FORMS": "1000",
    }
    for i, (competency, target_level) in enumerate(mappings):
        data.update(
            {
                f"competency_mappings-{i}-competency": str(competency),
                f"competency_mappings-{i}-target_level": str(target_level),
                f"competency_mappings-{i}-id": "",
                f"competency_mappings-{i}-ORDER": str(i + 1),
                f"competency_mappings-{i}-DELETE": "",
            }
        )
    return data


@pytest.fixture
def ids():
    """Block ids as the editor generates them (UUIDs), named for the test to find them."""
    return {
        name: str(uuid.uuid4())
        for name in ("text", "quiz", "question", "answer_right", "answer_wrong")
    }


def module_post_data(
    ids: dict,
    mappings: list[tuple[int, int]],
    *,
    title: str = "Making a referral",
    pass_mark: str = "100",
    right_is_correct: bool = True,
    **overrides,
) -> dict:
    """A module with a lesson text and a one-question quiz, as the page editor posts it."""
    quiz = "body-1-value"
    question = f"{quiz}-questions-0-value"
    data = {
        "title": title,
        "slug": "making-a-referral",
        "summary": "When and how to refer a family to another service.",
        "body-count": "2",
        # Block 0: rich text.
        "body-0-type": "text",
        "body-0-id": ids["text"],
        "body-0-order": "0",
        "body-0-deleted": "",
        "body-0-value": rich_text("<h2>Who to refer to</h2><p>Health, school, police.</p>"),
        # Block 1: the quiz, a StructBlock with a ListBlock of questions.
        "body-1-type": "quiz",
        "body-1-id": ids["quiz"],
        "body-1-order": "1",
        "body-1-deleted": "",
        f"{quiz}-title": "Check your understanding",
        f"{quiz}-pass_mark": pass_mark,
        f"{quiz}-questions-count": "1",
        f"{quiz}-questions-0-id": ids["question"],
        f"{quiz}-questions-0-order": "0",
        f"{quiz}-questions-0-deleted": "",
        f"{question}-text": "A child needs medical care today. What do you do?",
        f"{question}-kind": "single",
        f"{question}-answers-count": "2",
        f"{question}-answers-0-id": ids["answer_right"],
        f"{question}-answers-0-order": "0",
        f"{question}-answers-0-deleted": "",
        f"{question}-answers-0-value-text": "Refer to the clinic and go with the family",
        f"{question}-answers-0-value-feedback": "Yes: accompany urgent referrals.",
        f"{question}-answers-1-id": ids["answer_wrong"],
        f"{question}-answers-1-order": "1",
        f"{question}-answers-1-deleted": "",
        f"{question}-answers-1-value-text": "Write it in the case file for next month",
        f"{question}-answers-1-value-feedback": "Urgent needs cannot wait.",
        # Settings.
        "is_required": "on",
        "estimated_minutes": "15",
        "xapi_activity_iri": "",
        "action-publish": "action-publish",
        **mappings_data(mappings),
    }
    if right_is_correct:  # an unticked checkbox is simply absent
        data[f"{question}-answers-0-value-is_correct"] = "on"
    data.update(overrides)
    return data


def stream_form_data(block, state, prefix: str) -> dict:
    """Flatten a block's form state (what Wagtail hands its editor's JavaScript) into the
    fields that editor posts back, keeping every block id."""
    data = {}
    if isinstance(block, wagtail_blocks.StreamBlock):
        data[f"{prefix}-count"] = str(len(state))
        for i, child in enumerate(state):
            data[f"{prefix}-{i}-type"] = child["type"]
            data[f"{prefix}-{i}-id"] = child["id"]
            data[f"{prefix}-{i}-order"] = str(i)
            data[f"{prefix}-{i}-deleted"] = ""
            child_block = block.child_blocks[child["type"]]
            data.update(stream_form_data(child_block, child["value"], f"{prefix}-{i}-value"))
    elif isinstance(block, wagtail_blocks.ListBlock):
        data[f"{prefix}-count"] = str(len(state))
        for i, child in enumerate(state):
            data[f"{prefix}-{i}-id"] = child["id"]
            data[f"{prefix}-{i}-order"] = str(i)
            data[f"{prefix}-{i}-deleted"] = ""
            data.update(stream_form_data(block.child_block, child["value"], f"{prefix}-{i}-value"))
    elif isinstance(block, wagtail_blocks.StructBlock):
        for name, child_block in block.child_blocks.items():
            data.update(stream_form_data(child_block, state.get(name), f"{prefix}-{name}"))
    elif isinstance(block, wagtail_blocks.BooleanBlock):
        if state:
            data[prefix] = "on"
    elif isinstance(state, list):  # a select's widget state: the chosen values
        data[prefix] = [str(value) for value in state]
    else:
        data[prefix] = "" if state is None else str(state)
    return data


def edit_form_data(client, page) -> dict:
    """Everything the page editor would post back unchanged for ``page``'s latest revision."""
    response = client.get(edit_url(page))
    assert response.status_code == 200
    form = querydict_from_html(response.content.decode(), form_id="page-edit-form")
    data = {key: values if len(values) > 1 else values[0] for key, values in form.lists()}
    specific = page.get_latest_revision_as_object()
    if isinstance(specific, ModulePage):
        body_block = ModulePage._meta.get_field("body").stream_block
        data.update(stream_form_data(body_block, body_block.get_form_state(specific.body), "body"))
    return data


def messages_of(response) -> list[str]:
    return [str(m).strip() for m in response.context["messages"]]


def block_errors(response) -> list[str]:
    """Every message in the StreamField's (nested) validation errors."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            found.append(node)

    for error in response.context["form"].errors.as_data().get("body", []):
        walk(error.as_json_data() if hasattr(error, "as_json_data") else str(error))
    return found


# --- Where pages go -------------------------------------------------------------------------


def test_page_types_nest_catalogue_institution_course_module():
    assert CourseIndexPage.allowed_subpage_models() == [InstitutionPage]
    assert InstitutionPage.allowed_parent_page_models() == [CourseIndexPage]
    assert InstitutionPage.allowed_subpage_models() == [CoursePage]
    assert CoursePage.allowed_parent_page_models() == [InstitutionPage]
    assert CoursePage.allowed_subpage_models() == [ModulePage]
    assert ModulePage.allowed_parent_page_models() == [CoursePage]
    assert ModulePage.allowed_subpage_models() == []


def test_course_only_under_an_institution_module_only_under_a_course(
    client, people_a, institution_a, catalogue, course
):
    section = InstitutionPage.objects.get(institution=institution_a)
    module = ModulePage.objects.child_of(course).first()
    assert CoursePage.can_create_at(section) and not CoursePage.can_create_at(catalogue)
    assert not CoursePage.can_create_at(course) and not CoursePage.can_create_at(module)
    assert ModulePage.can_create_at(course)
    assert not ModulePage.can_create_at(section) and not ModulePage.can_create_at(module)

    # In the admin: the author may add pages anywhere in their section, but "Add child page"
    # offers only the one type each place takes, and goes straight to its form.
    client.force_login(people_a.author)
    response = client.get(f"/admin/pages/{section.pk}/add_subpage/")
    assert response["Location"] == add_url(CoursePage, section)
    response = client.get(f"/admin/pages/{course.pk}/add_subpage/")
    assert response["Location"] == add_url(ModulePage, course)

    pages_before = Page.objects.count()
    misplaced = [(CoursePage, course), (CoursePage, module), (ModulePage, section)]
    misplaced += [(ModulePage, module)]
    for model, parent in misplaced:
        for method in (client.get, client.post):
            response = method(add_url(model, parent), {"title": "Misplaced", "slug": "misplaced"})
            assert response.status_code == 302, (model, parent)
            assert response["Location"] == "/admin/"
    assert Page.objects.count() == pages_before
    assert not Page.objects.filter(title="Misplaced").exists()


def test_not_even_a_superuser_adds_a_course_outside_an_institution(
    client, django_user_model, catalogue, published_framework
):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "x")
    enable_totp(admin)  # superusers need a second factor before reaching the admin
    client.force_login(admin)
    response = client.post(add_url(CoursePage, catalogue), course_post_data(published_framework))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert not CoursePage.objects.exists()


# --- Who may add them -------------------------------------------------------------------------


def test_author_adds_a_course_and_a_module_in_their_section(
    client, people_a, institution_a, published_framework, ids
):
    section = InstitutionPage.objects.get(institution=institution_a)
    client.force_login(people_a.author)

    response = client.post(add_url(CoursePage, section), course_post_data(published_framework))
    assert response.status_code == 302, response.context and response.context["form"].errors
    course = CoursePage.objects.get(slug="referral")
    assert course.live and course.get_parent().pk == section.pk
    assert course.framework == published_framework
    assert course.institution == institution_a
    assert course.live_revision.user == people_a.author
    assert response["Location"] == f"/admin/pages/{section.pk}/"

    developing = level(published_framework, "Developing")
    competent = level(published_framework, "Competent")
    referral = item(published_framework, "PP.4.1")
    coordination = item(published_framework, "PP.4.2")
    data = module_post_data(ids, [(referral.pk, competent.pk), (coordination.pk, developing.pk)])
    response = client.post(add_url(ModulePage, course), data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    module = ModulePage.objects.get(slug="making-a-referral")
    assert module.live and module.get_parent().pk == course.pk
    assert module.live_revision.user == people_a.author
    assert module.is_required and module.estimated_minutes == 15

    # The content is stored as posted, with the editor's block ids.
    assert [(block.block_type, block.id) for block in module.body] == [
        ("text", ids["text"]),
        ("quiz", ids["quiz"]),
    ]
    assert "Who to refer to" in module.body[0].value.source
    quiz = module.quiz_block()
    assert quiz.value["pass_mark"] == 100
    (question,) = quiz.value["questions"].bound_blocks
    assert question.id == ids["question"] and question.value["kind"] == "single"
    assert [(a.id, a.value["is_correct"]) for a in question.value["answers"].bound_blocks] == [
        (ids["answer_right"], True),
        (ids["answer_wrong"], False),
    ]
    assert list(
        module.competency_mappings.order_by("sort_order").values_list(
            "competency__code", "target_level__name"
        )
    ) == [("PP.4.1", "Competent"), ("PP.4.2", "Developing")]

    # It is on the site at once, and the course lists what it builds.
    assert client.get(module.url).status_code == 200
    page = client.get(course.url).content.decode()
    assert "Making a referral" in page and "PP.4.1" in page and "Competent" in page


def test_author_of_another_institution_cannot_add_a_module(
    client, people_a, people_b, course, published_framework, ids
):
    modules_before = list(ModulePage.objects.values_list("pk", flat=True))
    revisions_before = course.revisions.count()
    competent = level(published_framework, "Competent")
    data = module_post_data(ids, [(item(published_framework, "PP.4.1").pk, competent.pk)])

    client.force_login(people_b.author)
    for method, url in (
        (client.get, add_url(ModulePage, course)),
        (client.post, add_url(ModulePage, course)),
        (client.get, f"/admin/pages/{course.pk}/add_subpage/"),
        (client.get, edit_url(course)),
    ):
        response = method(url, data)
        assert response.status_code == 302 and response["Location"] == "/admin/", url
    response = client.get("/admin/")
    assert DENIED in messages_of(response)

    assert list(ModulePage.objects.values_list("pk", flat=True)) == modules_before
    assert course.revisions.count() == revisions_before
    assert not ModuleCompetency.objects.filter(competency__code="PP.4.1").exists()
    # Nor may the course's own institution's trainees and supervisors, who have no admin.
    for user in (people_a.trainee, people_a.supervisor):
        client.force_login(user)
        response = client.post(add_url(ModulePage, course), data)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert list(ModulePage.objects.values_list("pk", flat=True)) == modules_before


# --- What a module must satisfy ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"right_is_correct": False}, "Mark at least one answer as correct."),
        ({"pass_mark": "101"}, "The pass mark is a percentage between 1 and 100."),
        ({"pass_mark": "0"}, "The pass mark is a percentage between 1 and 100."),
        (
            {
                "body-1-value-questions-0-value-answers-1-value-is_correct": "on",
            },
            "A one-answer question has exactly one correct answer; found 2.",
        ),
    ],
    ids=["no correct answer", "pass mark over 100", "pass mark 0", "two correct for one"],
)
def test_invalid_quiz_is_refused_with_its_message(
    client, people_a, course, published_framework, ids, change, message
):
    client.force_login(people_a.author)
    modules_before = ModulePage.objects.count()
    mapping = (item(published_framework, "PP.4.1").pk, level(published_framework, "Competent").pk)
    data = module_post_data(ids, [mapping], **change)

    response = client.post(add_url(ModulePage, course), data)

    assert response.status_code == 200  # the form again, with the errors
    assert "The page could not be created due to validation errors" in " ".join(
        messages_of(response)
    )
    assert message in block_errors(response)
    assert message in response.content.decode()  # handed to the editor to show by the block
    assert ModulePage.objects.count() == modules_before
    assert not ModuleCompetency.objects.filter(competency__code="PP.4.1").exists()


def test_the_same_rules_hold_when_a_live_module_is_edited(client, people_a, course):
    """A published module edited into an invalid quiz keeps its live content."""
    second = ModulePage.objects.child_of(course).last()
    live_revision = second.live_revision_id
    revisions = second.revisions.count()
    client.force_login(people_a.author)
    data = edit_form_data(client, second)
    data["body-2-value-pass_mark"] = "150"  # the demo module's quiz is its third block
    data["action-publish"] = "action-publish"

    response = client.post(edit_url(second), data)

    assert response.status_code == 200
    assert "The pass mark is a percentage between 1 and 100." in block_errors(response)
    second.refresh_from_db()
    assert second.live_revision_id == live_revision and second.revisions.count() == revisions
    assert second.quiz_block().value["pass_mark"] == 70


# --- Module → competency mapping --------------------------------------------------------------


@pytest.fixture
def draft_framework(published_framework):
    """A draft second version of the demo framework: same codes and level names."""
    return competencies_services.framework_new_version(framework=published_framework, version="2.0")


def test_mapping_needs_a_published_framework_and_a_level_of_the_same_one(
    course, published_framework, draft_framework
):
    module = ModulePage.objects.child_of(course).first()
    published_item = item(published_framework, "PP.5.1")
    published_level = level(published_framework, "Competent")

    ModuleCompetency(module=module, competency=published_item, target_level=published_level).clean()

    with pytest.raises(ValidationError) as refused:
        ModuleCompetency(
            module=module,
            competency=published_item,
            target_level=level(draft_framework, "Competent"),
        ).clean()
    assert refused.value.message_dict == {
        "target_level": ["Choose a level of the competency's own framework."]
    }

    with pytest.raises(ValidationError) as refused:
        ModuleCompetency(
            module=module,
            competency=item(draft_framework, "PP.5.1"),
            target_level=level(draft_framework, "Competent"),
        ).clean()
    assert refused.value.message_dict == {
        "competency": ["Map modules only to competencies of published frameworks."]
    }


@pytest.fixture
def second_published_framework(published_framework):
    """Version 2.0 of the demo framework, published too: its own levels, with the same names."""
    draft = competencies_services.framework_new_version(
        framework=published_framework, version="2.0"
    )
    return competencies_services.framework_publish(framework=draft)


def test_admin_refuses_a_mapping_to_a_draft_framework_or_a_foreign_level(
    client, people_a, course, published_framework, second_published_framework, ids
):
    draft_framework = competencies_services.framework_new_version(
        framework=published_framework, version="3.0"
    )
    client.force_login(people_a.author)
    modules_before = ModulePage.objects.count()

    # The competency chooser and the level list offer only published frameworks.
    form = client.get(add_url(ModulePage, course)).context["form"]
    fields = form.formsets["competency_mappings"].empty_form.fields
    competencies = fields["competency"].queryset
    levels = fields["target_level"].queryset
    assert competencies.filter(framework=published_framework).exists()
    assert not competencies.filter(framework=draft_framework).exists()
    assert levels.filter(framework=published_framework).exists()
    assert not levels.filter(framework=draft_framework).exists()

    # A draft framework's competency and level, posted anyway, are refused.
    draft_mapping = (item(draft_framework, "PP.4.1").pk, level(draft_framework, "Competent").pk)
    response = client.post(add_url(ModulePage, course), module_post_data(ids, [draft_mapping]))
    assert response.status_code == 200
    errors = response.context["form"].formsets["competency_mappings"].errors
    assert set(errors[0]) == {"competency", "target_level"}

    # A competency with a level of another (published) framework: the model's own check.
    foreign_level = (
        item(published_framework, "PP.4.1").pk,
        level(second_published_framework, "Competent").pk,
    )
    response = client.post(add_url(ModulePage, course), module_post_data(ids, [foreign_level]))
    assert response.status_code == 200
    errors = response.context["form"].formsets["competency_mappings"].errors
    assert errors[0] == {"target_level": ["Choose a level of the competency's own framework."]}
    assert "Choose a level of the competency&#x27;s own framework." in response.content.decode()

    assert ModulePage.objects.count() == modules_before
    assert not ModuleCompetency.objects.filter(competency__code="PP.4.1").exists()


# --- Drafts and revisions ------------------------------------------------------------------------


def test_republishing_keeps_learners_progress(client, people_a, course, trainee):
    first, second = ModulePage.objects.child_of(course).order_by("path")
    services.enrol(learner=trainee, course=course)
    services.module_complete(learner=trainee, module=first, event_id=uuid.uuid4())
    quiz = second.quiz_block()
    right = {
        question.id: [a.id for a in question.value["answers"].bound_blocks if a.value["is_correct"]]
        for question in quiz.value["questions"].bound_blocks
    }
    result = services.quiz_submit(
        learner=trainee, module=second, answers=right, event_id=uuid.uuid4()
    )
    assert result.attempt.passed
    first_revision, second_revision = first.live_revision_id, second.live_revision_id
    course_revision = course.live_revision_id
    assert Enrolment.objects.get(learner=trainee, course=course).status == "completed"

    client.force_login(people_a.author)
    # A draft first: learners still see the live version.
    data = edit_form_data(client, first)
    data["title"] = "Opening a case file"
    data["body-0-value"] = rich_text("<h2>Why a case file matters</h2><p>Rewritten.</p>")
    response = client.post(edit_url(first), data)
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.title == "Opening a case" and first.has_unpublished_changes
    assert first.live_revision_id == first_revision

    # Then the author publishes it, fixes a typo in the quiz and republishes the course.
    data = edit_form_data(client, first)
    data["action-publish"] = "action-publish"
    assert client.post(edit_url(first), data).status_code == 302
    data = edit_form_data(client, second)
    data["body-2-value-questions-0-value-text"] = "Who agrees the goals of a case plan?"
    data["action-publish"] = "action-publish"
    assert client.post(edit_url(second), data).status_code == 302
    data = edit_form_data(client, course)
    data["summary"] = "Open a case, plan with the family and follow up."
    data["action-publish"] = "action-publish"
    assert client.post(edit_url(course), data).status_code == 302

    for page, old in (
        (first, first_revision),
        (second, second_revision),
        (course, course_revision),
    ):
        page.refresh_from_db()
        assert page.live and page.live_revision_id != old
    assert first.title == "Opening a case file"
    assert "Rewritten." in first.body[0].value.source

    # The learner's records still count, and still name the revision they saw.
    completion = ModuleCompletion.objects.get(learner=trainee, module=first)
    assert completion.revision_id == first_revision
    assert ModuleCompletion.objects.get(learner=trainee, module=second).revision_id == (
        second_revision
    )
    attempt = QuizAttempt.objects.get(learner=trainee, module=second)
    assert attempt.revision_id == second_revision
    progress = selectors.course_progress(course=course, user=trainee)
    assert progress.percent == 100 and progress.completed_ids == {first.pk, second.pk}
    assert Enrolment.objects.get(learner=trainee, course=course).status == "completed"

    # The editor kept the quiz's block ids, so the stored answers still score on the new
    # revision: a typo fix does not turn a pass into a fail.
    new_quiz = second.quiz_block()
    assert new_quiz.id == attempt.quiz_block_id
    assert new_quiz.value["questions"][0]["text"] == "Who agrees the goals of a case plan?"
    assert selectors.score_quiz(new_quiz, attempt.answers).passed

    client.force_login(trainee)
    assert "100&nbsp;% complete" in client.get(course.url).content.decode()
    page = client.get(first.url).content.decode()
    assert "You have completed this module." in page and "Rewritten." in page
