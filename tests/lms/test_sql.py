"""The SQL templates of the progress path (lms.sql) read what the ORM would, on either
database: PostgreSQL in CI, SQLite as the embedded default."""

import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction

from lms import sql
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def rows(template: str, **values) -> list[tuple]:
    return sql.read_all(sql.Read(template, values))[0]


def test_a_collection_becomes_one_array_on_postgresql_and_a_list_elsewhere():
    text, params = sql.statement("SELECT id FROM t WHERE id {ids}", ids=[3, 1, 2])
    if connection.vendor == "postgresql":
        assert (text, params) == ("SELECT id FROM t WHERE id = ANY(%s)", [[3, 1, 2]])
    else:
        assert (text, params) == ("SELECT id FROM t WHERE id IN (%s, %s, %s)", [3, 1, 2])


def test_a_single_value_a_table_and_a_lock_fill_their_slots_in_order():
    users = get_user_model()
    text, params = sql.statement(
        "SELECT id FROM {users} WHERE username {name} AND id {ids}{lock}",
        users=users,
        name="ama",
        ids={7},
        lock=sql.Lock.NO_KEY_UPDATE,
    )
    table = connection.ops.quote_name(users._meta.db_table)
    lock = " FOR NO KEY UPDATE" if connection.vendor == "postgresql" else ""
    assert text == f"SELECT id FROM {table} WHERE username = %s AND id = %s{lock}"
    assert params == ["ama", 7]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan cache")
def test_a_read_of_one_value_keeps_its_plan_on_postgresql():
    """A one-value match is ``= %s``: prepared, it is planned once, not on every run as
    ``= ANY`` of a one-element array would be (the single progress event's reads)."""
    # With a table of some size and its statistics, as on a live server; on a near-empty
    # one every plan is the same scan, and a generic plan is kept either way.
    users = get_user_model()
    users.objects.bulk_create(users(username=f"plan-{i}") for i in range(3000))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(users._meta.db_table)}")
    user = UserFactory()
    template = "SELECT id FROM {users} WHERE id {ids}"
    for _ in range(8):
        assert rows(template, users=users, ids=[user.pk]) == [(user.pk,)]
    text, _params = sql.statement(template, users=users, ids=[user.pk])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = %s",
            [text.replace("%s", "$1")],
        )
        (generic, custom), *_ = cursor.fetchall()
    assert generic > 0 and custom <= 5


def test_an_empty_collection_is_refused_rather_than_matching_nothing_silently():
    with pytest.raises(ValueError, match="at least one value"):
        sql.statement("SELECT 1 WHERE id {ids}", ids=[])


def test_a_read_reads_what_the_orm_reads():
    users = [UserFactory(username=f"sql-{i}") for i in range(4)]
    wanted = [users[0].pk, users[2].pk, users[3].pk]
    with transaction.atomic():
        found = rows(
            "SELECT id, username FROM {users} WHERE id {ids} ORDER BY id{lock}",
            users=get_user_model(),
            ids=wanted,
            lock=sql.Lock.UPDATE,
        )
    expected = list(
        get_user_model().objects.filter(pk__in=wanted).order_by("pk").values_list("pk", "username")
    )
    assert found == expected


def test_prepared_values_match_the_column_as_stored():
    """A UUID is native on PostgreSQL and 32 hex digits on SQLite: the template must be given
    what the column holds, or it matches nothing."""
    import uuid

    from courses.models import ProgressEvent

    value = uuid.UUID("12345678-1234-5678-1234-567812345678")
    [prepared] = sql.prepared(ProgressEvent, "event_id", [value])
    assert prepared == (value if connection.vendor == "postgresql" else value.hex)


@pytest.fixture
def recorded_event(course):
    """A progress event with every kind of value: a UUID, a JSON object, a decimal, dates."""
    from decimal import Decimal

    from courses.models import Enrolment, ModulePage, ProgressEvent

    learner = UserFactory(username="sql-learner")
    Enrolment.objects.create(learner=learner, course=course, enrolled_at="2026-01-01T00:00Z")
    module = ModulePage.objects.child_of(course).first()
    return ProgressEvent.objects.create(
        event_id="12345678-1234-5678-1234-567812345678",
        learner=learner,
        verb="passed",
        object_type="module",
        course=course,
        module=module,
        score=Decimal("87.50"),
        success=True,
        occurred_at=datetime(2026, 12, 4, 6, 30, tzinfo=UTC),
        source="api",
        extra={"xapi_verb": "http://adlnet.gov/expapi/verbs/passed", "n": [1, 2]},
    )


def test_reads_run_in_order_and_give_model_rows_as_the_orm_gives_them(recorded_event):
    from courses.models import Enrolment, ProgressEvent

    with transaction.atomic():
        events, enrolments, plain = sql.read_all(
            sql.Read(
                "SELECT * FROM courses_progressevent WHERE event_id {ids}",
                {"ids": sql.prepared(ProgressEvent, "event_id", [recorded_event.event_id])},
                ProgressEvent,
            ),
            sql.Read(
                "SELECT * FROM courses_enrolment WHERE learner_id {learner}{lock}",
                {"learner": recorded_event.learner_id, "lock": sql.Lock.UPDATE},
                Enrolment,
            ),
            sql.Read("SELECT verb FROM courses_progressevent WHERE id {pk}", {"pk": [-1]}),
        )
    [event] = events
    expected = ProgressEvent.objects.get(pk=recorded_event.pk)
    for field in ProgressEvent._meta.concrete_fields:
        assert getattr(event, field.attname) == getattr(expected, field.attname), field.name
    assert event.extra == {"xapi_verb": "http://adlnet.gov/expapi/verbs/passed", "n": [1, 2]}
    assert not event._state.adding
    assert [e.course_id for e in enrolments] == [recorded_event.course_id]
    assert plain == []


def test_columns_beyond_the_model_become_attributes(recorded_event):
    [users] = sql.read_all(
        sql.Read(
            "SELECT learner.*, event.verb AS last_verb FROM {users} learner "
            "JOIN courses_progressevent event ON event.learner_id = learner.id "
            "WHERE learner.id {pk}",
            {"users": get_user_model(), "pk": recorded_event.learner_id},
            get_user_model(),
        )
    )
    assert [(user.username, user.last_verb) for user in users] == [("sql-learner", "passed")]


def test_a_failing_read_raises_django_s_error_and_the_transaction_rolls_back(recorded_event):
    from django.db import DatabaseError

    from courses.models import ProgressEvent

    # Django's error (psycopg's own would escape code that catches Django's, such as the
    # progress path's retry after a deadlock).
    with pytest.raises(DatabaseError), transaction.atomic():
        ProgressEvent.objects.filter(pk=recorded_event.pk).update(verb="completed")
        sql.read_all(
            sql.Read("SELECT id FROM courses_progressevent WHERE id {pk}", {"pk": 1}),
            sql.Read("SELECT no_such_column FROM courses_progressevent", {}),
        )
    assert ProgressEvent.objects.get(pk=recorded_event.pk).verb == "passed"
    assert rows("SELECT verb FROM courses_progressevent WHERE id {pk}", pk=recorded_event.pk)


def test_a_plain_row_s_timestamp_becomes_the_aware_datetime_the_orm_gives(recorded_event):
    """SQLite gives the timestamp as text, PostgreSQL as a datetime: both as the ORM would."""
    from courses.models import ProgressEvent

    [(read,)] = rows(
        "SELECT occurred_at FROM courses_progressevent WHERE id {pk}", pk=recorded_event.pk
    )
    value = sql.converted(ProgressEvent, "occurred_at", read)
    assert value == datetime(2026, 12, 4, 6, 30, tzinfo=UTC)
    assert value.tzinfo is not None
    assert sql.converted(ProgressEvent, "occurred_at", None) is None


def test_a_watcher_of_the_queries_sees_every_statement_sent(recorded_event):
    """Query logging (DEBUG, tests that count queries) and execute wrappers (Django's hook
    for instrumentation) see lms.sql's statements: with either, they go through Django's
    cursor."""
    from django.test.utils import CaptureQueriesContext

    seen = []

    def watch(execute, text, params, many, context):
        seen.append(text)
        return execute(text, params, many, context)

    reads = (
        sql.Read("SELECT verb FROM courses_progressevent WHERE id {pk}", {"pk": recorded_event.pk}),
        sql.Read("SELECT id FROM {users} WHERE id {pk}", {"users": get_user_model(), "pk": 0}),
    )
    with connection.execute_wrapper(watch):
        assert sql.read_all(*reads) == [[("passed",)], []]
    assert [text.split(" FROM")[0] for text in seen] == ["SELECT verb", "SELECT id"]
    with CaptureQueriesContext(connection) as captured:
        assert sql.read_all(*reads) == [[("passed",)], []]
    assert len(captured.captured_queries) == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the driver's cursors, unwatched")
def test_unwatched_statements_run_on_the_driver_s_cursors(recorded_event, monkeypatch):
    """Django's cursor wrapper costs the single progress request about a twelfth of its CPU:
    with nothing watching, lms.sql does without it (docs/decisions/0014)."""

    def refused(*args, **kwargs):
        raise AssertionError("Django's cursor was used")

    monkeypatch.setattr(connection, "cursor", refused)
    found = sql.read_all(
        sql.Read("SELECT verb FROM courses_progressevent WHERE id {pk}", {"pk": recorded_event.pk}),
        sql.Read("SELECT verb FROM courses_progressevent WHERE id {pk}", {"pk": 0}),
    )
    assert found == [[("passed",)], []]


def test_a_broken_transaction_is_refused_before_anything_is_sent(recorded_event):
    """As Django's cursor refuses it: after an error inside ``atomic`` without a savepoint,
    the transaction can only be rolled back."""
    from django.db import IntegrityError
    from django.db.transaction import TransactionManagementError

    from courses.models import ProgressEvent

    with transaction.atomic():
        with pytest.raises(IntegrityError), transaction.atomic(savepoint=False):
            ProgressEvent.objects.create(
                **{
                    field.attname: getattr(recorded_event, field.attname)
                    for field in ProgressEvent._meta.concrete_fields
                    if not field.primary_key
                }
            )
        with pytest.raises(TransactionManagementError):
            rows("SELECT verb FROM courses_progressevent WHERE id {pk}", pk=recorded_event.pk)


# --- insert -------------------------------------------------------------------------------


def _statement(institution, **overrides):
    from courses.models import XapiStatement

    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    values = {
        "institution": institution,
        "statement_id": uuid.uuid4(),
        "raw": {"actor": {"mbox": "mailto:ama@example.org"}, "verb": {"id": "urn:v"}},
        "stored": now,
        "timestamp": now,
        "authority": {"objectType": "Agent", "name": "key"},
        "actor_ifi": "mailto:ama@example.org",
        "verb_iri": "urn:v",
    }
    return XapiStatement(**{**values, **overrides})


def test_insert_stores_what_bulk_create_stores_and_gives_the_keys(institution_a):
    from courses.models import XapiStatement

    ours, theirs = _statement(institution_a), _statement(institution_a)
    sql.insert([ours])
    XapiStatement.objects.bulk_create([theirs])

    assert ours.pk is not None and not ours._state.adding and ours._state.db == "default"
    fields = [f.attname for f in XapiStatement._meta.concrete_fields]
    stored = {
        row["id"]: row
        for row in XapiStatement.objects.filter(pk__in=[ours.pk, theirs.pk]).values(*fields)
    }
    for row in stored.values():
        row.pop("id"), row.pop("statement_id")
    assert stored[ours.pk] == stored[theirs.pk]
    assert stored[ours.pk]["raw"] == ours.raw and stored[ours.pk]["progress_status"] == "pending"


def test_a_large_group_stores_what_bulk_create_stores(institution_a, round_trips):
    """More rows than a single event's: one statement of arrays on PostgreSQL."""
    from courses.models import XapiStatement

    count = sql._FEW_ROWS + 5
    ours = [
        _statement(institution_a, raw={"n": i, "actor": {"name": "Ama"}}, actor_ifi=f"a{i}")
        for i in range(count)
    ]
    theirs = [
        _statement(institution_a, raw={"n": i, "actor": {"name": "Ama"}}, actor_ifi=f"a{i}")
        for i in range(count)
    ]
    sql.insert(ours)
    XapiStatement.objects.bulk_create(theirs)

    assert round_trips == ([1] if connection.vendor == "postgresql" else [])
    assert all(not obj._state.adding for obj in ours)
    fields = [f.attname for f in XapiStatement._meta.concrete_fields if f.attname != "id"]
    stored = dict(XapiStatement.objects.values_list("id", "statement_id"))
    assert sorted(stored) == sorted(obj.pk for obj in ours + theirs)
    assert [stored[obj.pk] for obj in ours] == [obj.statement_id for obj in ours]

    def rows(objs):
        by_pk = {
            row.pop("id"): row
            for row in XapiStatement.objects.filter(pk__in=[o.pk for o in objs]).values(
                "id", *fields
            )
        }
        return [{**by_pk[obj.pk], "statement_id": None} for obj in objs]

    assert rows(ours) == rows(theirs)
    assert rows(ours)[3]["raw"] == {"n": 3, "actor": {"name": "Ama"}}


def test_insert_fills_in_auto_now_add_as_a_save_would():
    from lms.models import Institution

    institution = Institution(name="Insert College", slug="insert-college", country="GH")
    sql.insert([institution])

    assert institution.created_at is not None
    assert Institution.objects.get(pk=institution.pk).created_at == institution.created_at


def test_insert_takes_the_key_of_a_related_instance_inserted_since(institution_a):
    from courses.models import XapiStatementKey

    statement = _statement(institution_a)
    key = XapiStatementKey(
        statement=statement, institution=institution_a, kind="agent", key="k", related=False
    )
    sql.insert([statement])
    sql.insert([key])

    assert key.statement_id == statement.pk and key.statement is statement
    assert XapiStatementKey.objects.get(pk=key.pk).statement_id == statement.pk


def _key(statement, institution, key="k", **overrides):
    from courses.models import XapiStatementKey

    values = {"kind": "agent", "key": key, "related": False}
    return XapiStatementKey(statement=statement, institution=institution, **{**values, **overrides})


@pytest.fixture
def round_trips(monkeypatch):
    """How many times lms.sql sent statements to the server together (one round trip on
    PostgreSQL; one by one, in order, on SQLite)."""
    sent = []
    original = sql._Together.__enter__

    def enter(self):
        sent.append(len(self.statements))
        return original(self)

    monkeypatch.setattr(sql._Together, "__enter__", enter)
    return sent


def test_insert_points_a_group_to_new_instances_of_an_earlier_one_in_one_round_trip(
    institution_a, round_trips
):
    """The keys' statement has no key before the round trip: each key row finds it by the
    statement's unique (institution, statement id), and gets its key afterwards."""
    from courses.models import XapiStatementKey

    statement = _statement(institution_a)
    keys = [_key(statement, institution_a, key=f"k{i}") for i in range(3)]
    sql.insert([statement], keys)

    assert round_trips == [2]
    assert statement.pk is not None
    assert [key.statement_id for key in keys] == [statement.pk] * 3
    assert all(key.statement is statement for key in keys)  # still cached, not read again
    stored = XapiStatementKey.objects.filter(pk__in=[key.pk for key in keys])
    assert sorted(stored.values_list("statement_id", "key")) == [
        (statement.pk, "k0"),
        (statement.pk, "k1"),
        (statement.pk, "k2"),
    ]


def test_insert_writes_the_earlier_groups_before_a_large_group_pointing_to_them(
    institution_a, round_trips
):
    statement = _statement(institution_a)
    keys = [_key(statement, institution_a, key=f"k{i}") for i in range(sql._FEW_ROWS + 5)]
    sql.insert([statement], keys)

    # The statement alone, then the keys: in one statement of arrays on PostgreSQL (so one
    # more time together), by bulk_create elsewhere.
    assert round_trips == ([1, 1] if connection.vendor == "postgresql" else [1])
    assert sorted(statement.keys.values_list("key", flat=True)) == sorted(k.key for k in keys)


def test_insert_refuses_to_point_to_an_unsaved_instance_of_no_group(institution_a):
    from courses.models import XapiStatement

    statement, elsewhere = _statement(institution_a), _statement(institution_a)
    with pytest.raises(ValueError, match="unsaved related object 'statement'"):
        sql.insert([statement], [_key(elsewhere, institution_a)])

    assert not XapiStatement.objects.exists() and statement.pk is None


def test_insert_refuses_to_point_to_an_instance_it_could_not_find_before_writing(
    institution_a,
):
    """A statement without its id has no unique values for the key row to find it by."""
    from courses.models import XapiStatement

    statement = _statement(institution_a, statement_id=None)
    with pytest.raises(ValueError, match="cannot point to a new xapistatement"):
        sql.insert([statement], [_key(statement, institution_a)])

    assert not XapiStatement.objects.exists() and statement.pk is None


def test_insert_refuses_an_instance_that_has_a_row_already(institution_a):
    with pytest.raises(ValueError, match="new Institutions only"):
        sql.insert([institution_a])


def test_insert_writes_groups_of_several_models_large_and_small(institution_a):
    """300 rows are a batch's, which bulk_create writes; the small group goes as one
    statement, with the others' in one round trip on PostgreSQL."""
    from courses.models import XapiStatement, XapiStatementKey

    statement = _statement(institution_a)
    sql.insert([statement])
    keys = [
        XapiStatementKey(
            statement=statement, institution=institution_a, kind="agent", key=f"k{i}", related=True
        )
        for i in range(300)
    ]
    others = [_statement(institution_a), _statement(institution_a)]
    few = [
        XapiStatementKey(
            statement=statement,
            institution=institution_a,
            kind="activity",
            key=f"a{i}",
            related=False,
        )
        for i in range(2)
    ]
    sql.insert(keys, others, few)

    assert len({key.pk for key in keys + few}) == 302
    assert sorted(statement.keys.values_list("pk", flat=True)) == sorted(k.pk for k in keys + few)
    assert XapiStatement.objects.filter(pk__in=[other.pk for other in others]).count() == 2


def test_an_insert_that_breaks_a_constraint_raises_djangos_integrity_error(institution_a):
    from django.db import IntegrityError

    first = _statement(institution_a)
    sql.insert([first])
    again = _statement(institution_a, statement_id=first.statement_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.insert([again])


def test_reads_after_the_inserts_run_in_their_round_trip_and_see_them(institution_a, round_trips):
    """``then``: reads that must follow the inserts (the evidence's reads after the
    completions it is of) cost no round trip of their own."""
    statement = _statement(institution_a)
    keys = [_key(statement, institution_a, key=f"k{i}") for i in range(2)]
    found = sql.insert(
        [statement],
        keys,
        then=[
            sql.Read(
                "SELECT key FROM courses_xapistatementkey WHERE institution_id {i} ORDER BY key",
                {"i": institution_a.pk},
            ),
            sql.Read("SELECT 1 FROM lms_institution WHERE slug {s}", {"s": "none"}, result=len),
        ],
    )

    assert found == [[("k0",), ("k1",)], 0]
    assert round_trips == [4]
    assert statement.pk is not None and all(key.statement_id == statement.pk for key in keys)


def test_reads_alone_after_no_insert_still_run(round_trips):
    found = sql.insert(
        [], then=[sql.Read("SELECT 1 FROM lms_institution WHERE slug {s}", {"s": "x"})]
    )
    assert found == [[]]
    assert round_trips == [1]
