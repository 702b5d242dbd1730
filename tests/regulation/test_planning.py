"""Population upload (all or nothing, each problem with its line) and workers per children."""

from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from regulation import counting, figures, planning, services
from regulation.models import PopulationFigure
from tests.regulation.conftest import certify, days, make_worker

GOOD = (
    b"region,total_population,children_under_18\nNairobi,4400000,1500000\nKisumu,1150000,560000\n"
)


def upload(client, content: bytes):
    return client.post(
        reverse("regulation:population_upload"),
        {"file": SimpleUploadedFile("population.csv", content, content_type="text/csv")},
        follow=True,
    )


def test_a_good_file_replaces_the_figures(client, bodies):
    client.force_login(bodies.kenya_regulator)
    page = upload(client, GOOD).content.decode()
    assert "Population figures of 2 regions saved." in page
    assert dict(PopulationFigure.objects.values_list("region", "children")) == {
        "Nairobi": 1_500_000,
        "Kisumu": 560_000,
    }
    upload(client, b"region,total_population,children_under_18\nMombasa,1200000,460000\n")
    assert list(PopulationFigure.objects.values_list("region", flat=True)) == ["Mombasa"]


def test_a_bad_file_changes_nothing_and_names_each_problem_with_its_line(client, bodies):
    client.force_login(bodies.kenya_regulator)
    upload(client, GOOD)
    bad = (
        b"region,total_population,children_under_18\n"
        b"Nairobi,4400000,1500000\n"
        b",100,10\n"
        b"Kisumu,many,10\n"
        b"Nakuru,100,200\n"
        b"nairobi,5,1\n"
        b"Turkana,1\n"
    )
    page = upload(client, bad).content.decode()
    assert "Nothing was changed" in page
    for problem in (
        "Line 3: the region is empty.",
        "Line 4: total population must be a whole number, not “many”.",
        "Line 5: there are more children (200) than people (100).",
        "Line 6: nairobi is already on line 2.",
        "Line 7: expected 3 values, found 2.",
    ):
        assert problem in page
    assert PopulationFigure.objects.count() == 2


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "The file is empty."),
        (b"place,people\nA,1\n", "Line 1: the header must be"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"region,total_population,children_under_18\n", "The file has no regions."),
    ],
)
def test_files_that_are_not_population_tables_are_refused(content, problem):
    with pytest.raises(services.PopulationFileError) as refused:
        services.population_parse(content)
    assert problem in refused.value.problems[0]


def test_workers_per_100000_children_against_the_target_with_the_gap(
    client, bodies, course, institution_a
):
    services.population_replace(body=bodies.kenya, content=GOOD)
    services.target_set(body=bodies.kenya, children_per_worker=1000)
    for n in range(3):
        certify(make_worker(f"k{n}", region="Kisumu"), course, institution_a, valid_until=days(9))
    certify(make_worker("expired", region="Kisumu"), course, institution_a, valid_until=days(-1))
    counting.figures_count(country="KE")
    rows = planning.plan(body=bodies.kenya, filters=figures.Filters())
    assert [r.region for r in rows] == ["Nairobi", "Kisumu"]  # fewest workers per child first
    kisumu = rows[1]
    assert kisumu.workers == 3
    assert kisumu.per_100k == round(3 * 100_000 / 560_000, 1)
    assert kisumu.target_per_100k == 100.0
    assert (kisumu.needed, kisumu.gap) == (560, 557)
    client.force_login(bodies.kenya_regulator)
    page = client.get(reverse("regulation:planning")).content.decode()
    assert "workers-per-children-title" in page and "<td>557</td>" in page


def test_the_target_must_be_a_positive_number(client, bodies):
    client.force_login(bodies.kenya_regulator)
    client.post(reverse("regulation:target_update"), {"children_per_worker": "0"})
    bodies.kenya.refresh_from_db()
    assert bodies.kenya.children_per_worker_target is None
    client.post(reverse("regulation:target_update"), {"children_per_worker": "800"})
    bodies.kenya.refresh_from_db()
    assert bodies.kenya.children_per_worker_target == 800


def test_one_body_never_sees_or_changes_anothers_figures(client, bodies):
    services.population_replace(body=bodies.kenya, content=GOOD)
    client.force_login(bodies.cambodia_regulator)
    upload(client, b"region,total_population,children_under_18\nKampot,600000,250000\n")
    assert PopulationFigure.objects.filter(body=bodies.kenya).count() == 2
    page = client.get(reverse("regulation:planning")).content.decode()
    assert "Nairobi" not in page and "Kampot" in page
    assert client.get(reverse("regulation:planning")).status_code == HTTPStatus.OK
