"""The numbers on each chart equal a direct count; exports keep formulas inert."""

import csv
import datetime
import io
from http import HTTPStatus

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from certificates.models import Certificate
from competencies.models import CompetencyAttainment, CompetencyItem, ScaleLevel
from lms.models import LearnerProfile
from regulation import counting, figures, tables
from tests.regulation.conftest import certify, days, enrol, make_worker


@pytest.fixture
def workforce(bodies, course, institution_a):
    """Kenyan workers in two regions with enrolments and certificates of every state, and a
    Cambodian worker who must never be counted."""
    now = timezone.now()
    nairobi = [make_worker(f"nairobi-{n}", region="Nairobi", cadre="volunteer") for n in range(4)]
    kisumu = [
        make_worker(f"kisumu-{n}", region="Kisumu", cadre="professional", is_paid=True)
        for n in range(3)
    ]
    for worker in nairobi[:3] + kisumu[:2]:
        enrol(worker, course, completed_at=now if worker in (nairobi[0], kisumu[0]) else None)
    certify(nairobi[0], course, institution_a, valid_until=days(30))  # valid, expiring soon
    certify(nairobi[1], course, institution_a, revoked=True)
    certify(nairobi[2], course, institution_a, valid_until=days(-10))  # expired
    certify(kisumu[0], course, institution_a, valid_until=days(400))
    cambodian = make_worker("phnom-penh-0", country="KH", region="Phnom Penh")
    enrol(cambodian, course)
    certify(cambodian, course, institution_a)
    counting.figures_count(country="KE")
    return {"nairobi": nairobi, "kisumu": kisumu}


def _rows(table):
    return {row[0]: row[1:] for row in table[1:]}


def test_the_breakdown_by_region_equals_a_direct_count(bodies, workforce):
    table = tables.statistics_table(body=bodies.kenya, filters=figures.Filters(), group="region")
    rows = _rows(table)
    today = timezone.localdate()
    for region in ("Nairobi", "Kisumu"):
        profiles = LearnerProfile.objects.filter(country="KE", region=region)
        users = profiles.values("user_id")
        certificates = Certificate.objects.filter(learner__in=users)
        valid = certificates.exclude(state="revoked").exclude(valid_until__lt=today)
        assert rows[region] == [
            profiles.count(),
            len({e.learner_id for e in _enrolments(users)}),
            len({e.learner_id for e in _enrolments(users) if e.completed_at}),
            certificates.exclude(state="revoked").values("learner").distinct().count(),
            valid.values("learner").distinct().count(),
        ]
    assert rows["Nairobi"] == [4, 3, 1, 2, 1]
    assert rows["Total"] == [7, 5, 2, 3, 2]


def _enrolments(users):
    from courses.models import Enrolment

    return list(Enrolment.objects.filter(learner__in=users))


def test_filters_narrow_every_number(bodies, workforce, institution_a):
    paid = figures.Filters(paid="paid")
    rows = _rows(tables.statistics_table(body=bodies.kenya, filters=paid, group="cadre"))
    assert rows == {"Professional": [3, 2, 1, 1, 1], "Total": [3, 2, 1, 1, 1]}
    by_institution = _rows(
        tables.statistics_table(
            body=bodies.kenya,
            filters=figures.Filters(institution_id=institution_a.pk),
            group="institution",
        )
    )
    assert by_institution["Ubuntu Institute"][1:] == [5, 2, 3, 2]
    assert by_institution["Ubuntu Institute"][0] == ""  # workers belong to no institution
    # a worker trained at two institutions is one worker: the total is counted by region
    by_region = _rows(
        tables.statistics_table(
            body=bodies.kenya,
            filters=figures.Filters(institution_id=institution_a.pk),
            group="region",
        )
    )
    assert by_institution["Total"] == by_region["Total"]
    future = figures.Filters(date_from=days(1))
    rows = _rows(tables.statistics_table(body=bodies.kenya, filters=future, group="region"))
    assert rows["Total"] == [7, 0, 0, 0, 2]  # "valid today" does not depend on the range


def test_certificates_by_month_equal_a_direct_count(bodies, workforce):
    months = _rows(tables.months_table(body=bodies.kenya, filters=figures.Filters()))
    this_month = timezone.localdate().strftime("%Y-%m")
    assert months[this_month][:2] == [4, 1]
    expired_month = days(-10).strftime("%Y-%m")
    assert months[expired_month][2] == 1
    assert (
        sum(row[0] for row in months.values())
        == Certificate.objects.filter(learner__learner_profile__country="KE").count()
    )


def test_expiring_in_ninety_days_lists_only_valid_certificates_ending_soon(bodies, workforce):
    found = figures.expiring(body=bodies.kenya, filters=figures.Filters())
    assert [c["holder_name"] for c in found] == ["Nairobi-0"]
    assert figures.expiring_count(body=bodies.kenya, filters=figures.Filters()) == 1


def test_the_heat_map_shares_equal_a_direct_count(bodies, workforce, published_framework):
    competency = CompetencyItem.objects.filter(
        framework=published_framework, kind="competency"
    ).first()
    proficient = ScaleLevel.objects.get(framework=published_framework, is_proficient=True)
    for worker in workforce["nairobi"][:2]:
        CompetencyAttainment.objects.create(
            learner=worker,
            competency=competency,
            framework=published_framework,
            level=proficient,
            since=timezone.now(),
            via="direct",
        )
    counting.figures_count(country="KE")
    heat = figures.heat_map(
        body=bodies.kenya, filters=figures.Filters(), framework=published_framework
    )
    assert heat.share("Nairobi", competency.pk) == 2 / 4
    assert heat.share("Kisumu", competency.pk) == 0
    table = tables.heat_map_table(heat)
    nairobi = next(row for row in table if row[0] == "Nairobi")
    assert nairobi[1] == 4 and nairobi[2 + heat.competencies.index(competency)] == 50.0


def test_the_workspace_shows_accessible_charts_with_their_tables(client, bodies, workforce):
    client.force_login(bodies.kenya_regulator)
    page = client.get(reverse("regulation:workspace"), {"region": "Nairobi"}).content.decode()
    assert page.count('role="img"') == 2
    assert '<title id="valid-by-group-title">' in page and "<desc id=" in page
    assert "<caption>" in page and '<th scope="row">Nairobi</th>' in page
    assert "Kisumu</th>" not in page
    heat = client.get(reverse("regulation:heat_map")).content.decode()
    assert 'role="img"' in heat or "No competency framework" in heat


def test_exports_write_formulas_as_text(client, bodies, course, institution_a):
    worker = make_worker("formula", region='=HYPERLINK("http://evil","x")')
    certify(worker, course, institution_a, valid_until=days(20))
    client.force_login(bodies.kenya_regulator)
    response = client.get(reverse("regulation:export", args=["statistics", "csv"]))
    assert response["Content-Disposition"].startswith("attachment;")
    cells = [row[0] for row in csv.reader(io.StringIO(response.content.decode()))]
    assert '\'=HYPERLINK("http://evil","x")' in cells
    response = client.get(reverse("regulation:export", args=["statistics", "xlsx"]))
    assert response.status_code == HTTPStatus.OK
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [row[0].value for row in sheet.iter_rows()]
    assert '\'=HYPERLINK("http://evil","x")' in values
    assert all(row[0].data_type != "f" for row in sheet.iter_rows())
    response = client.get(reverse("regulation:export", args=["expiring", "csv"]))
    assert "Formula" in response.content.decode()


def test_an_unknown_export_is_not_found(client, bodies):
    client.force_login(bodies.kenya_regulator)
    assert client.get("/regulation/export/users.csv").status_code == HTTPStatus.NOT_FOUND
    assert client.get("/regulation/export/statistics.pdf").status_code == HTTPStatus.NOT_FOUND


def test_a_date_range_ending_before_it_starts_is_named(client, bodies):
    client.force_login(bodies.kenya_regulator)
    page = client.get(
        reverse("regulation:workspace"),
        {"date_from": datetime.date(2026, 5, 1), "date_to": datetime.date(2026, 1, 1)},
    ).content.decode()
    assert "The start of the date range is after its end." in page


def test_a_date_range_counts_workers_by_their_first_enrolment_completion_and_certificate(
    bodies, course, institution_a
):
    long_ago = timezone.now() - datetime.timedelta(days=400)
    veteran = make_worker("veteran", region="Nairobi")
    enrol(veteran, course, enrolled_at=long_ago, completed_at=long_ago)
    certify(veteran, course, institution_a, issued_at=long_ago, valid_until=days(-35))
    certify(veteran, course, institution_a, valid_until=days(700))  # renewed this month
    newcomer = make_worker("newcomer", region="Nairobi")
    enrol(newcomer, course, completed_at=timezone.now())
    certify(newcomer, course, institution_a, valid_until=days(700))
    counting.figures_count(country="KE")
    last_month = figures.Filters(date_from=days(-30), date_to=days(0))
    rows = _rows(tables.statistics_table(body=bodies.kenya, filters=last_month, group="region"))
    assert rows["Nairobi"] == [2, 1, 1, 1, 2]  # only the newcomer is new; both hold one
    everything = _rows(
        tables.statistics_table(body=bodies.kenya, filters=figures.Filters(), group="region")
    )
    assert everything["Nairobi"] == [2, 2, 2, 2, 2]


def test_the_figures_are_counted_ahead_and_the_page_says_when(
    client, bodies, workforce, course, institution_a, settings, django_capture_on_commit_callbacks
):
    from regulation import tasks
    from regulation.models import FiguresCount

    settings.REGULATION_FIGURES_SECONDS = 600
    client.force_login(bodies.kenya_regulator)
    before = _rows(
        tables.statistics_table(body=bodies.kenya, filters=figures.Filters(), group="region")
    )
    certify(make_worker("late", region="Kisumu"), course, institution_a, valid_until=days(9))
    page = client.get(reverse("regulation:workspace")).content.decode()
    assert "Figures counted at" in page
    assert f'<th scope="row">Kisumu</th><td>{before["Kisumu"][0]}</td>' in page  # as counted
    with django_capture_on_commit_callbacks(execute=True):  # the kept pages are forgotten
        assert tasks.count_all_figures() == 2  # Kenya and Cambodia, each once
    after = _rows(
        tables.statistics_table(body=bodies.kenya, filters=figures.Filters(), group="region")
    )
    assert after["Kisumu"][0] == before["Kisumu"][0] + 1
    assert after["Kisumu"][4] == before["Kisumu"][4] + 1
    # Figures older than REGULATION_FIGURES_SECONDS: the page asks Celery for a count.
    old = timezone.now() - datetime.timedelta(hours=1)
    FiguresCount.objects.filter(country="KE").update(counted_at=old)
    with django_capture_on_commit_callbacks(execute=True):
        client.get(reverse("regulation:workspace"))
    assert FiguresCount.objects.get(country="KE").counted_at > old


def test_counting_again_replaces_the_figures_without_duplicating_them(bodies, workforce):
    from regulation.models import CertificateFigures, WorkerFigures

    workers = WorkerFigures.objects.count()
    certificates = CertificateFigures.objects.count()
    counting.figures_count(country="KE")
    counting.figures_count(country="KE")
    assert WorkerFigures.objects.count() == workers
    assert CertificateFigures.objects.count() == certificates == 4
    assert workers == 7  # every Kenyan worker once
