"""The cohort × competency grid: who has reached which level of the competencies the cohort's
course builds, where the gaps are, its CSV and XLSX exports — and who may see it."""

import csv
import io
import uuid
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from courses import services
from courses.models import ModulePage
from lms import services as lms_services
from tests.factories import UserFactory, learner_profile_data
from tests.learning import right_answers
from tests.spreadsheets import FORMULA_VALUES, as_text

pytestmark = pytest.mark.django_db

HEADER = [
    "Learner",
    "Username",
    "PP.3.1 Identifies the strengths and resources of the child, family and community"
    " (target: Developing)",
    "PP.5.1 Opens and documents a case according to procedures (target: Developing)",
    "PP.5.2 Develops and reviews a case plan with the child and family (target: Competent)",
]


def modules(course):
    return list(ModulePage.objects.child_of(course).order_by("path"))


def learner(username: str, full_name: str):
    user = UserFactory(username=username)
    lms_services.learner_profile_save(user=user, **learner_profile_data(full_name=full_name))
    return user


def complete(user, course, *, both: bool) -> None:
    first, second = modules(course)
    services.enrol(learner=user, course=course)
    services.module_complete(learner=user, module=first, event_id=uuid.uuid4())
    if both:
        services.quiz_submit(
            learner=user, module=second, answers=right_answers(second), event_id=uuid.uuid4()
        )


@pytest.fixture
def cohort(course, institution_a):
    cohort = services.cohort_create(institution=institution_a, course=course, name="Kibera, March")
    amina, baraka, chao = (
        learner("amina", "Amina Njoroge"),
        learner("baraka", "Baraka Otieno"),
        learner("chao", "Chao Lin"),
    )
    cohort.learners.add(amina, baraka, chao)
    complete(amina, course, both=True)
    complete(baraka, course, both=False)
    return cohort  # chao has done nothing yet


def grid_url(cohort, name="courses_cohort_grid"):
    return reverse(name, args=[cohort.pk])


def test_the_grid_shows_levels_reached_targets_gaps_and_the_summary(client, people_a, cohort):
    client.force_login(people_a.manager)
    response = client.get(grid_url(cohort))
    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    # Columns: the competencies the course's modules build, with their target level.
    for code in ("PP.3.1", "PP.5.1", "PP.5.2"):
        assert f'data-competency="{code}"' in page
    grid = response.context["grid"]
    assert [(c.competency.code, c.target_level.name) for c in grid.columns] == [
        ("PP.3.1", "Developing"),
        ("PP.5.1", "Developing"),
        ("PP.5.2", "Competent"),
    ]
    assert {
        row.learner.username: [(cell.label, cell.is_gap) for cell in row.cells] for row in grid.rows
    } == {
        "amina": [("Developing", False), ("Developing", False), ("Competent", False)],
        "baraka": [("", True), ("Developing", False), ("", True)],
        "chao": [("", True), ("", True), ("", True)],
    }
    assert [column.reached_target for column in grid.columns] == [1, 2, 1]
    # What the manager sees: names, gap markers (one per cell below target) and the summary.
    assert "Amina Njoroge" in page and "Chao Lin" in page
    assert page.count("data-gap") == 5
    summary = page.split("data-summary", 1)[1]
    assert [part.split("<")[0].strip() for part in summary.split("<td>")[1:]] == [
        "1 / 3",
        "2 / 3",
        "1 / 3",
    ]
    # Reached from the cohort's page.
    detail = client.get(reverse("courses_cohort", args=[cohort.pk])).content.decode()
    assert grid_url(cohort) in detail


EXPECTED_ROWS = [
    HEADER,
    ["Amina Njoroge", "amina", "Developing", "Developing", "Competent"],
    ["Baraka Otieno", "baraka", "", "Developing", ""],
    ["Chao Lin", "chao", "", "", ""],
]


def test_the_csv_export_holds_the_same_grid(client, people_a, cohort):
    client.force_login(people_a.instructor)
    response = client.get(grid_url(cohort, "courses_cohort_grid_csv"))
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [*EXPECTED_ROWS, ["Reached the target", "", "1", "2", "1"]]


def test_the_xlsx_export_holds_the_same_grid(client, people_a, cohort):
    client.force_login(people_a.manager)
    response = client.get(grid_url(cohort, "courses_cohort_grid_xlsx"))
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell if cell is not None else "" for cell in row] for row in sheet.values]
    assert rows == [*EXPECTED_ROWS, ["Reached the target", "", 1, 2, 1]]


@pytest.mark.parametrize(
    "name", ["courses_cohort_grid", "courses_cohort_grid_csv", "courses_cohort_grid_xlsx"]
)
def test_another_institutions_staff_and_trainees_cannot_see_the_grid(
    client, people_a, people_b, cohort, name
):
    client.force_login(people_b.manager)
    response = client.get(grid_url(cohort, name))
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b"amina" not in response.content
    client.force_login(people_a.trainee)
    assert client.get(grid_url(cohort, name)).status_code in (
        HTTPStatus.FOUND,
        HTTPStatus.FORBIDDEN,
    )
    client.force_login(people_a.author)  # a member, but not one who runs cohorts
    assert client.get(grid_url(cohort, name)).status_code in (
        HTTPStatus.FOUND,
        HTTPStatus.FORBIDDEN,
    )


def test_the_grid_costs_the_same_queries_whatever_the_cohorts_size(
    client, people_a, cohort, course
):
    client.force_login(people_a.manager)
    client.get(grid_url(cohort))  # warm caches (site, locale)

    def queries(name) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(grid_url(cohort, name)).status_code == HTTPStatus.OK
        return len(captured)

    before = {name: queries(name) for name in ("courses_cohort_grid", "courses_cohort_grid_csv")}
    for n in range(4):
        extra = learner(f"extra-{n}", f"Extra {n}")
        cohort.learners.add(extra)
        complete(extra, course, both=n % 2 == 0)
    after = {name: queries(name) for name in ("courses_cohort_grid", "courses_cohort_grid_csv")}
    assert after == before
    grid = client.get(grid_url(cohort)).context["grid"]
    assert len(grid.rows) == 7


@pytest.fixture
def formula_cohort(course, institution_a):
    """A cohort whose learners' names (which any institution's API key can set) are formulas."""
    cohort = services.cohort_create(institution=institution_a, course=course, name="Formulas")
    cohort.learners.add(*(learner(f"formula-{n}", value) for n, value in enumerate(FORMULA_VALUES)))
    return cohort


def test_the_csv_export_writes_formula_like_names_as_text(client, people_a, formula_cohort):
    client.force_login(people_a.instructor)
    response = client.get(grid_url(formula_cohort, "courses_cohort_grid_csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode(), newline="")))
    assert sorted(row[0] for row in rows[1:-1]) == sorted(as_text(v) for v in FORMULA_VALUES)


def test_the_xlsx_export_writes_formula_like_names_as_text(client, people_a, formula_cohort):
    client.force_login(people_a.manager)
    response = client.get(grid_url(formula_cohort, "courses_cohort_grid_xlsx"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    names = [row[0] for row in sheet.iter_rows(min_row=2, max_row=sheet.max_row - 1)]
    assert {cell.data_type for cell in names} == {"s"}
    assert sorted(cell.value for cell in names) == sorted(as_text(v) for v in FORMULA_VALUES)
    assert (
        sheet.cell(row=1, column=1).font.bold and sheet.cell(row=sheet.max_row, column=1).font.bold
    )
