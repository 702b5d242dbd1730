"""A course from authoring to completion, in a real browser: an institution's author builds
and publishes a two-module course in the Wagtail admin (desktop), then a trainee takes it on
a phone.

Each step leaves a screenshot in ``test-artifacts/screenshots/<test name>/``.
"""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from courses.models import (
    CoursePage,
    Enrolment,
    ModuleCompetency,
    ModuleCompletion,
    ModulePage,
    QuizAttempt,
)
from tests.e2e.browser import DESKTOP, PHONE, assert_fits_phone, field, log_in

# The live server and the test share the database (see tests/e2e/conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


COURSE = "Referral and follow-up"
MODULE_1 = "Knowing the services"
MODULE_2 = "Making a referral"
QUESTION = "A child needs a doctor today. What do you do?"
RIGHT = "Refer to the clinic and go with the family"
WRONG = "Write it down for next month's visit"


# --- Helpers ------------------------------------------------------------------------------


def publish(page: Page, title: str) -> None:
    """Wagtail's footer: "Publish" sits in the "More actions" menu, under "Save draft".

    Wagtail 8 autosaves the form while the author types: if an autosave went through, the
    page already exists as a draft and publishing it says so differently.
    """
    footer = page.get_by_role("navigation", name="Actions (footer)")
    footer.get_by_role("button", name="More actions").click()
    footer.get_by_role("button", name="Publish").click()
    messages = page.locator(".messages > ul")
    expect(messages).to_contain_text(
        re.compile(rf"Page '{re.escape(title)}' (created and published|has been published)\.")
    )
    expect(messages).to_have_css("opacity", "1")


def insert_block(page: Page, body: Locator, kind: str) -> Locator:
    """Append a block of ``kind`` to a StreamField through its "+" menu; return its panel."""
    blocks = body.locator("[data-streamfield-stream-container] > [data-streamfield-child]")
    before = blocks.count()
    body.get_by_role("button", name="Insert a block").last.click()
    page.get_by_role("option", name=kind, exact=True).click()
    expect(blocks).to_have_count(before + 1)
    block = blocks.last
    expect(block.get_by_role("region").first).to_be_visible()
    return block


def list_items(block: Locator, name: str) -> Locator:
    """The items of the ListBlock ``name`` of a StructBlock (not those of lists inside them)."""
    return block.locator(
        f"[data-contentpath='{name}'] > div > [data-streamfield-list-container]"
        " > [data-streamfield-child]"
    )


def write_rich_text(page: Page, block: Locator, text: str) -> None:
    editor = block.get_by_role("textbox").first
    editor.click()
    page.keyboard.type(text)
    expect(editor).to_contain_text(text)


def map_competency(page: Page, index: int, competency: str, level) -> None:
    """Add one row to the "Competencies this module builds" InlinePanel."""
    panel = page.get_by_role("region", name="Competencies this module builds")
    panel.get_by_role("button", name="Add Competency").click()
    row = panel.locator(f"#inline_child_competency_mappings-{index}")
    expect(row).to_be_visible()
    # The competency is picked in a chooser modal, searched by code.
    row.get_by_role("button", name="Choose a competency").click()
    chooser = page.get_by_role("dialog").filter(
        has=page.get_by_role("heading", name="Choose a competency")
    )
    expect(chooser).to_be_visible()
    code = competency.split(" ", 1)[0]
    chooser.get_by_role("textbox", name="Code or words").fill(code)
    results = chooser.get_by_role("table").get_by_role("link")
    expect(results.first).to_have_text(re.compile(rf"^\s*{re.escape(code)}\b"))  # searched
    chooser.get_by_role("link", name=competency, exact=True).click()
    # Wagtail removes the modal once it has faded out.
    expect(page.locator("body > .modal")).to_have_count(0)
    expect(row).to_contain_text(competency)
    # Levels are listed with their framework, as several frameworks name theirs alike.
    field(row, "Target level", "combobox").select_option(label=str(level))


# --- The test -------------------------------------------------------------------------------


@pytest.mark.browser
def test_author_builds_a_course_and_a_trainee_completes_it_on_a_phone(
    live_server, people_a, institution_a, published_framework, trainee, open_page, shot
):
    section_id = institution_a.root_page_id
    competency_1 = published_framework.items.get(code="PP.4.1")
    competency_2 = published_framework.items.get(code="PP.4.2")
    levels = {level.name: level for level in published_framework.levels.all()}

    # --- The author, on a desktop, in the Wagtail admin ---------------------------------
    admin = open_page(**DESKTOP)
    log_in(admin, live_server.url, people_a.author.username, f"/admin/pages/{section_id}/")
    expect(admin).to_have_url(re.compile(rf"/admin/pages/{section_id}/$"))
    shot(admin, "author explorer")

    # "Add child page" on their section goes straight to the course form: a course is the
    # only thing a section takes.
    admin.goto(f"{live_server.url}/admin/pages/{section_id}/add_subpage/")
    expect(admin.get_by_role("heading", level=1)).to_have_text("New: Course")
    field(admin, "Title").fill(COURSE)
    field(admin, "Summary").fill("Refer families to the services they need, and follow up.")
    field(admin, "CPD hours", "spinbutton").fill("1.5")
    field(admin, "Competency framework", "combobox").select_option(label=str(published_framework))
    shot(admin, "course form")
    publish(admin, COURSE)
    shot(admin, "course published")
    course = CoursePage.objects.get(title=COURSE)

    # Module 1: a lesson text, mapped to one competency.
    admin.goto(f"{live_server.url}/admin/pages/{course.pk}/add_subpage/")
    expect(admin.get_by_role("heading", level=1)).to_have_text("New: Module")
    field(admin, "Title").fill(MODULE_1)
    field(admin, "Summary").fill("Which services exist near you, and what each one does.")
    body = admin.locator("#panel-child-content-body-section")
    text = insert_block(admin, body, "Text")
    write_rich_text(admin, text, "Health, education, police and social welfare services.")
    map_competency(admin, 0, str(competency_1), levels["Developing"])
    shot(admin, "module 1 form")
    publish(admin, MODULE_1)
    shot(admin, "module 1 published")

    # Module 2: a lesson text and a quiz with one single-choice question, two answers.
    admin.goto(f"{live_server.url}/admin/pages/{course.pk}/add_subpage/")
    field(admin, "Title").fill(MODULE_2)
    body = admin.locator("#panel-child-content-body-section")
    text = insert_block(admin, body, "Text")
    write_rich_text(admin, text, "Urgent needs are referred the same day.")
    quiz = insert_block(admin, body, "Quiz")
    expect(field(quiz, "Title")).to_have_value("Check your understanding")
    question = list_items(quiz, "questions")
    expect(question).to_have_count(1)  # a quiz starts with its one required question
    field(question, "Question").fill(QUESTION)
    expect(field(question, "Kind", "combobox")).to_have_value("single")
    answers = question.locator("[data-contentpath='answers']")
    answer_panels = list_items(question, "answers")
    expect(answer_panels).to_have_count(1)
    answers.get_by_role("button", name="Add").last.click()  # a second answer, at the end
    expect(answer_panels).to_have_count(2)
    field(answer_panels.nth(0), "Text").fill(RIGHT)
    answer_panels.nth(0).get_by_role("checkbox", name="Correct").check()
    field(answer_panels.nth(0), "Feedback").fill("Yes: go with the family to urgent care.")
    field(answer_panels.nth(1), "Text").fill(WRONG)
    field(answer_panels.nth(1), "Feedback").fill("A child who needs a doctor cannot wait.")
    field(quiz, "Pass mark", "spinbutton").fill("100")
    map_competency(admin, 0, str(competency_2), levels["Competent"])
    shot(admin, "module 2 form")
    publish(admin, MODULE_2)
    shot(admin, "module 2 published")

    # What the admin built, in the database.
    course.refresh_from_db()
    first, second = ModulePage.objects.child_of(course).order_by("path")
    assert course.live and course.framework == published_framework
    assert course.get_parent().pk == section_id
    assert (first.title, first.live, second.title, second.live) == (
        MODULE_1,
        True,
        MODULE_2,
        True,
    )
    assert [b.block_type for b in first.body] == ["text"]
    assert [b.block_type for b in second.body] == ["text", "quiz"]
    stored_quiz = second.quiz_block().value
    assert stored_quiz["pass_mark"] == 100
    (stored_question,) = stored_quiz["questions"]
    assert stored_question["text"] == QUESTION and stored_question["kind"] == "single"
    assert [(a["text"], a["is_correct"]) for a in stored_question["answers"]] == [
        (RIGHT, True),
        (WRONG, False),
    ]
    assert sorted(
        ModuleCompetency.objects.filter(module__in=[first, second]).values_list(
            "module__title", "competency__code", "target_level__name"
        )
    ) == [(MODULE_1, "PP.4.1", "Developing"), (MODULE_2, "PP.4.2", "Competent")]
    assert {first.live_revision.user, second.live_revision.user, course.live_revision.user} == {
        people_a.author
    }

    # --- The trainee, on a phone ------------------------------------------------------------
    phone = open_page(**PHONE)
    log_in(phone, live_server.url, trainee.username, "/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Courses")
    expect(phone.get_by_role("link", name=COURSE)).to_be_visible()
    assert_fits_phone(phone)
    shot(phone, "catalogue")

    phone.get_by_role("link", name=COURSE).tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text(COURSE)
    expect(phone.locator("ol.modules")).to_contain_text(MODULE_1)
    expect(phone.locator("ol.modules")).to_contain_text(MODULE_2)
    expect(phone.locator("main")).to_contain_text("PP.4.2")  # what the course builds
    assert_fits_phone(phone)
    shot(phone, "course page")

    phone.get_by_role("button", name="Enrol in this course").tap()
    # Straight on to the first module.
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_1)
    expect(phone.get_by_role("status")).to_contain_text(f"You are enrolled in “{COURSE}”.")
    expect(phone.locator("main")).to_contain_text("Health, education, police")
    expect(phone.locator("main")).to_contain_text("0 % of the course complete")
    assert_fits_phone(phone)
    shot(phone, "module 1")

    phone.get_by_role("button", name="Mark this module complete").tap()
    # On to the second module, half-way through the course.
    expect(phone.get_by_role("heading", level=1)).to_have_text(MODULE_2)
    expect(phone.get_by_role("status")).to_contain_text("Module complete.")
    expect(phone.locator("main")).to_contain_text("50 % of the course complete")
    assert_fits_phone(phone)
    shot(phone, "module 2 quiz")

    quiz_form = phone.locator("#quiz")
    expect(quiz_form.get_by_role("group", name=re.compile(re.escape(QUESTION)))).to_be_visible()
    quiz_form.get_by_role("radio", name=RIGHT).check()
    shot(phone, "quiz answered")
    quiz_form.get_by_role("button", name="Submit answers").tap()
    expect(phone.get_by_role("status")).to_contain_text(
        f"You passed with 100 %. You have completed “{COURSE}”."
    )
    expect(phone.locator("#quiz .feedback")).to_contain_text("Correct.")
    expect(phone.locator("#quiz .feedback")).to_contain_text("Yes: go with the family")
    expect(phone.locator("main")).to_contain_text("You have completed this module.")
    expect(phone.locator("main")).to_contain_text("100 % of the course complete")
    assert_fits_phone(phone)
    shot(phone, "quiz passed")

    phone.get_by_role("link", name="Back to the course").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text(COURSE)
    progress = phone.get_by_role("region", name="Your progress")
    expect(progress).to_contain_text("100 % complete")
    expect(progress.get_by_role("progressbar")).to_have_attribute("value", "100")
    expect(phone.locator("section.finished")).to_contain_text(f"You have completed “{COURSE}”")
    assert_fits_phone(phone)
    shot(phone, "course complete")

    phone.get_by_role("navigation", name="Main").get_by_role("link", name="My learning").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("My learning")
    mine = phone.locator(".course-progress").filter(has_text=COURSE)
    expect(mine.get_by_role("progressbar")).to_have_attribute("value", "100")
    expect(mine).to_contain_text("Completed")
    assert_fits_phone(phone)
    assert phone.failures == [], phone.failures  # every learner page loaded cleanly
    shot(phone, "my learning")

    # What the trainee did, in the database.
    enrolment = Enrolment.objects.get(learner=trainee, course=course)
    assert enrolment.status == "completed" and enrolment.completed_at is not None
    assert set(
        ModuleCompletion.objects.filter(learner=trainee).values_list("module_id", flat=True)
    ) == {first.pk, second.pk}
    (attempt,) = QuizAttempt.objects.filter(learner=trainee, module=second)
    assert attempt.passed and attempt.score == 100
    right_id = next(
        a.id
        for a in second.quiz_block()
        .value["questions"]
        .bound_blocks[0]
        .value["answers"]
        .bound_blocks
        if a.value["is_correct"]
    )
    assert list(attempt.answers.values()) == [[right_id]]
