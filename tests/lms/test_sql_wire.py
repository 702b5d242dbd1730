"""lms.sql's statements through libpq itself on PostgreSQL (lms.sql_wire): what a psycopg
cursor would send and read, in one round trip, with a transaction's BEGIN and its errors."""

import pytest
from django.db import DatabaseError, ProgrammingError, connection, transaction

from lms import sql, sql_wire
from lms.models import Institution

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="libpq is PostgreSQL's"),
]


def count(template: str, **values) -> int:
    return sql.read_all(sql.Read(template, values))[0][0][0]


@pytest.fixture
def no_cursors(monkeypatch):
    """Neither Django's cursor nor psycopg's is used."""
    connection.ensure_connection()

    def refused(*args, **kwargs):
        raise AssertionError("a cursor was used")

    monkeypatch.setattr(connection, "cursor", refused)
    monkeypatch.setattr(connection, "create_cursor", refused)


def test_reads_and_inserts_go_through_libpq_without_a_cursor(no_cursors):
    college = Institution(name="Wire College", slug="wire-college", country="GH")
    sql.insert([college])
    found = sql.read_all(
        sql.Read("SELECT name, country FROM lms_institution WHERE id {pk}", {"pk": college.pk}),
        sql.Read("SELECT slug FROM lms_institution WHERE slug {slugs}", {"slugs": ["a", "b"]}),
    )
    assert found == [[("Wire College", "GH")], []]
    assert college.pk is not None


def test_what_they_write_is_what_the_orm_reads():
    college = Institution(name="Wire College", slug="wire-college", country="GH")
    sql.insert([college])
    stored = Institution.objects.get(pk=college.pk)
    assert (stored.name, stored.slug, stored.created_at) == (
        "Wire College",
        "wire-college",
        college.created_at,
    )


def prepared_here(text: str) -> list[str]:
    """The names of the connection's prepared statements whose text has ``text``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM pg_prepared_statements WHERE statement LIKE %s ORDER BY name",
            [f"%{text}%"],
        )
        return [name for (name,) in cursor.fetchall()]


COUNTRY = "SELECT count(*) FROM lms_institution WHERE country {c}"


def test_a_statement_is_prepared_once_on_the_connection_and_reused():
    for _ in range(3):
        assert count(COUNTRY, c="ZZ") == 0
    [name] = prepared_here("lms_institution WHERE country")
    assert name.startswith("_lms_")
    assert name.encode() in connection.connection._prepared._names.values()


def test_after_psycopg_deallocates_them_on_a_rollback_they_are_prepared_again():
    """psycopg deallocates every prepared statement of the connection on a rollback, a
    savepoint's included: ours are forgotten with its own, not called by a lost name."""
    assert count(COUNTRY, c="ZZ") == 0
    [before] = prepared_here("lms_institution WHERE country")
    with pytest.raises(RuntimeError), transaction.atomic():
        Institution.objects.filter(country="ZZ").exists()
        raise RuntimeError("roll back to the savepoint")
    assert prepared_here("lms_institution WHERE country") == []

    assert count(COUNTRY, c="ZZ") == 0
    [after] = prepared_here("lms_institution WHERE country")
    assert after != before


def test_beyond_psycopg_s_limit_the_oldest_are_deallocated(monkeypatch):
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection._prepared, "prepared_max", 2)
    countries = ["AA", "BB", "CC", "DD"]
    templates = [f"{COUNTRY} AND name <> '{country}'" for country in countries]
    for template in templates:
        assert count(template, c="ZZ") == 0
    Institution.objects.exists()  # psycopg sends the deallocations due with its next query
    kept = [
        country
        for country in countries
        if prepared_here(f"lms_institution WHERE country = $1 AND name <> '{country}'")
    ]
    assert kept == ["CC", "DD"]  # the two used last

    assert count(templates[0], c="ZZ") == 0  # prepared again, not called by a lost name
    assert prepared_here("name <> 'AA'")


def test_while_psycopg_has_a_deallocate_all_to_send_they_go_unnamed():
    """It would drop a statement prepared meanwhile under us."""
    connection.ensure_connection()
    pending = connection.connection._prepared._to_flush
    pending.append(None)
    try:
        assert count(COUNTRY, c="ZZ") == 0
        assert prepared_here("lms_institution WHERE country") == []
    finally:
        pending.clear()


def test_without_prepared_statements_configured_they_go_unnamed(monkeypatch):
    """DATABASE_PREPARED=false (a pooler that loses prepared statements)."""
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    for _ in range(3):
        assert count(COUNTRY, c="ZZ") == 0
    assert prepared_here("lms_institution WHERE country") == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_transaction_they_start_is_begun_and_rolled_back_as_a_cursor_s():
    """The first statements of an atomic block carry its BEGIN; a rollback takes them back.
    Outside one, each round trip commits on its own (autocommit)."""
    with pytest.raises(RuntimeError), transaction.atomic():
        sql.insert([Institution(name="Gone College", slug="gone", country="GH")])
        assert connection.connection.info.transaction_status.name == "INTRANS"
        raise RuntimeError("roll back")
    assert not Institution.objects.filter(slug="gone").exists()

    sql.insert([Institution(name="Kept College", slug="kept", country="GH")])
    assert connection.connection.info.transaction_status.name == "IDLE"
    assert Institution.objects.filter(slug="kept").exists()


def test_an_error_is_django_s_takes_the_transaction_back_and_leaves_the_connection_usable():
    with pytest.raises(DatabaseError, match="no_such_column"), transaction.atomic():
        sql.insert([Institution(name="Half College", slug="half", country="GH")])
        sql.read_all(
            sql.Read("SELECT no_such_column FROM lms_institution", {}),
            sql.Read("SELECT 1 FROM lms_institution WHERE slug {s}", {"s": "x"}),
        )
    assert connection.connection.pgconn.pipeline_status == 0  # not left in pipeline mode
    assert not Institution.objects.filter(slug="half").exists()
    assert count("SELECT count(*) FROM lms_institution WHERE slug {s}", s="half") == 0


def test_a_value_that_cannot_be_sent_is_refused_before_anything_is_sent():
    with transaction.atomic():
        sql.insert([Institution(name="Before College", slug="before", country="GH")])
        with pytest.raises(ProgrammingError, match="cannot adapt"):
            sql.read_all(
                sql.Read("SELECT 1 FROM lms_institution WHERE slug {s}", {"s": "before"}),
                sql.Read("SELECT 1 WHERE 1 {x}", {"x": object()}),
            )
        # Nothing was sent: the transaction is not broken, and goes on.
        assert count("SELECT count(*) FROM lms_institution WHERE slug {s}", s="before") == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_interrupted_round_trip_closes_the_connection_and_django_opens_another(
    monkeypatch,
):
    def interrupted(pgconn):
        raise KeyboardInterrupt

    connection.ensure_connection()
    monkeypatch.setattr(sql_wire, "_results", interrupted)
    with pytest.raises(KeyboardInterrupt):
        count("SELECT count(*) FROM lms_institution WHERE slug {s}", s="x")
    assert connection.connection.closed
    monkeypatch.undo()

    connection.close_if_unusable_or_obsolete()  # what Django does at the end of a request
    assert count("SELECT count(*) FROM lms_institution WHERE slug {s}", s="x") == 0


def test_placeholders_become_numbered_and_a_doubled_percent_a_percent_sign():
    assert sql_wire._numbered("a = %s AND b LIKE 'x%%' AND c = %s") == (
        b"a = $1 AND b LIKE 'x%' AND c = $2"
    )
    assert sql_wire._numbered("%%s") == b"%s"
    with pytest.raises(ValueError, match="percent sign"):
        sql_wire._numbered("a = %d")
