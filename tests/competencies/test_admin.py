"""The framework editor in the Wagtail admin: who may do what, building and rearranging a tree,
the draft → published → retired lifecycle, new versions, crosswalks, imports and exports.

Outcomes in the permission matrices: ``ok`` (the page opens or the change is made), ``login``
(sent to log in: no admin access at all), ``denied`` (Wagtail's "permission denied" redirect
to the admin home, a 403, or a 404 for frameworks the person may not even see).
"""

import csv
import io
import json
from http import HTTPStatus
from urllib.parse import urljoin

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from competencies import selectors, services
from competencies.interchange import FrameworkData, ItemData, LevelData
from competencies.models import (
    CompetencyAssociation,
    CompetencyItem,
    Framework,
    FrameworkStatus,
    ScaleLevel,
)
from tests.competencies.real_shapes import opensalt_export
from tests.conftest import enable_totp, make_regulator
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = [
    "anonymous",
    "trainee",
    "supervisor",
    "instructor",
    "author",
    "manager",
    "author_b",
    "manager_b",
    "regulator",
    "regulator_2",
    "superuser",
]
AUTHORS = {"author", "manager", "author_b", "manager_b", "regulator", "regulator_2", "superuser"}
PUBLISHED_NOTE = "a published framework never changes"


@pytest.fixture
def everyone(people_a, people_b, regulator):
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    enable_totp(superuser)
    regulator_2 = make_regulator("regulator-2")
    return {
        "anonymous": None,
        "trainee": people_a.trainee,
        "supervisor": people_a.supervisor,
        "instructor": people_a.instructor,
        "author": people_a.author,
        "manager": people_a.manager,
        "author_b": people_b.author,
        "manager_b": people_b.manager,
        "regulator": regulator,
        "regulator_2": regulator_2,
        "superuser": superuser,
    }


def outcome(response) -> str:
    if response.status_code == HTTPStatus.OK:
        return "ok"
    if response.status_code == HTTPStatus.FOUND:
        location = response["Location"]
        if location.startswith(("/admin/login/", reverse("account_login"))):
            return "login"
        if location == reverse("wagtailadmin_home"):
            return "denied"
        return "ok"  # a change made, and the person sent on to see it
    if response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND):
        return "denied"
    return f"status {response.status_code}"


def as_person(client, everyone, name):
    client.logout()
    if everyone[name] is not None:
        client.force_login(everyone[name])


def expect(ok: set[str], *, login=("anonymous", "trainee", "supervisor")) -> dict[str, str]:
    return {name: "login" if name in login else "ok" if name in ok else "denied" for name in PEOPLE}


LEVELS = [
    LevelData("Not yet competent"),
    LevelData("Developing"),
    LevelData("Competent", is_proficient=True),
    LevelData("Proficient"),
]


def framework_data(title="Case management", *, code="CM", items: int = 3) -> FrameworkData:
    """A small tree: one domain, its competencies, an indicator under the first."""
    rows = [ItemData(key="D1", code=f"{code}.1", kind="domain", full_statement="Case work")]
    for n in range(1, items):
        rows.append(
            ItemData(
                key=f"C{n}",
                code=f"{code}.1.{n}",
                full_statement=f"Competency {n} of case work",
                parent_key="D1",
                order=n - 1,
            )
        )
    return FrameworkData(
        title=title, creator="Ubuntu Institute", code=code, levels=list(LEVELS), items=rows
    )


def make_framework(
    title="Case management", *, owner=None, created_by=None, published=False, code="CM", items=3
) -> Framework:
    framework = services.framework_import(
        data=framework_data(title, code=code, items=items),
        owner_institution=owner,
        created_by=created_by,
    )
    if published:
        framework = services.framework_publish(framework=framework)
    return framework


def page_text(response) -> str:
    return response.content.decode()


def tree(framework) -> list[tuple[str, int, str]]:
    return [
        (node.item.code, node.depth, node.item.kind)
        for node in selectors.framework_tree_rows(framework=framework)
    ]


def url(name, *args) -> str:
    return reverse(f"competencies_{name}", args=args)


# --- Permissions --------------------------------------------------------------------------


def test_menu_item_is_shown_to_framework_authors_only(client, everyone):
    for name in ("author", "manager", "regulator", "superuser", "instructor"):
        as_person(client, everyone, name)
        shown = url("frameworks") in page_text(client.get("/admin/"))
        assert shown == (name != "instructor"), name


@pytest.mark.parametrize("page", ["frameworks", "framework_create", "framework_import"])
def test_list_create_and_import_pages_are_for_framework_authors(client, everyone, page):
    got = {}
    for name in PEOPLE:
        as_person(client, everyone, name)
        got[name] = outcome(client.get(url(page)))
    assert got == expect(AUTHORS)


def test_list_shows_published_frameworks_to_all_and_drafts_to_their_owners(
    client, everyone, institution_a, institution_b
):
    make_framework("A draft", owner=institution_a)
    make_framework("A published", owner=institution_a, published=True)
    make_framework("B draft", owner=institution_b)
    make_framework("Regulator draft", created_by=everyone["regulator"])
    sees = {
        "author": {"A draft", "A published"},
        "manager": {"A draft", "A published"},
        "author_b": {"A published", "B draft"},
        "manager_b": {"A published", "B draft"},
        "regulator": {"A published", "Regulator draft"},
        "regulator_2": {"A published"},
        "superuser": {"A draft", "A published", "B draft", "Regulator draft"},
    }
    all_titles = {"A draft", "A published", "B draft", "Regulator draft"}
    for name, titles in sees.items():
        as_person(client, everyone, name)
        page = page_text(client.get(url("frameworks")))
        assert {t for t in all_titles if f">{t}</a>" in page} == titles, name

    as_person(client, everyone, "author")
    page = page_text(client.get(url("frameworks"), {"status": "published"}))
    assert ">A published</a>" in page and ">A draft</a>" not in page


def test_framework_pages_open_for_those_who_may_see_them(
    client, everyone, institution_a, institution_b
):
    draft = make_framework("A draft", owner=institution_a)
    published = make_framework("A published", owner=institution_a, published=True)
    for framework, ok in (
        (draft, {"author", "manager", "superuser"}),
        (published, AUTHORS),
    ):
        got = {}
        for name in PEOPLE:
            as_person(client, everyone, name)
            got[name] = outcome(client.get(url("framework", framework.pk)))
        assert got == expect(ok), framework

    # Another institution's author reads a published framework but gets no controls.
    as_person(client, everyone, "author_b")
    page = page_text(client.get(url("framework", published.pk)))
    assert "only its owners can change it" in page
    assert "Create new version" not in page and "Retire" not in page
    assert "Export Moodle CSV" in page


@pytest.mark.parametrize(
    "view, method",
    [
        ("framework_edit", "get"),
        ("scale_edit", "get"),
        ("item_create", "get"),
        ("association_create", "get"),
        ("framework_delete", "get"),
    ],
)
def test_editing_pages_of_an_institutions_draft(client, everyone, institution_a, view, method):
    draft = make_framework("A draft", owner=institution_a)
    got = {}
    for name in PEOPLE:
        as_person(client, everyone, name)
        got[name] = outcome(getattr(client, method)(url(view, draft.pk)))
    assert got == expect({"author", "manager", "superuser"})


def test_publishing_an_institutions_draft(client, everyone, institution_a):
    got = {}
    for name in PEOPLE:
        draft = make_framework(f"Draft for {name}", owner=institution_a)
        as_person(client, everyone, name)
        response = client.post(url("framework_publish", draft.pk))
        draft.refresh_from_db()
        got[name] = outcome(response)
        assert (draft.status == FrameworkStatus.PUBLISHED) == (got[name] == "ok"), name
    assert got == expect({"author", "manager", "superuser"})


def test_a_regulator_creates_unowned_frameworks_and_edits_only_their_own(client, everyone):
    as_person(client, everyone, "regulator")
    page = page_text(client.get(url("framework_create")))
    assert "No institution (owned by the regulator)" in page
    response = client.post(
        url("framework_create"),
        {
            "title": "National framework",
            "code": "NSSW",
            "version": "1.0",
            "language": "en",
            "creator": "Social Work Council",
            "owner_institution": "",
        },
    )
    framework = Framework.objects.get(title="National framework")
    assert response["Location"] == url("framework", framework.pk)
    assert framework.owner_institution is None
    assert framework.created_by == everyone["regulator"]
    client.post(
        url("item_create", framework.pk),
        {"code": "N.1", "kind": "domain", "full_statement": "Ethics", "parent": ""},
    )

    got = {}
    for name in PEOPLE:
        as_person(client, everyone, name)
        got[name] = outcome(client.get(url("item_create", framework.pk)))
    assert got == expect({"regulator", "superuser"})

    as_person(client, everyone, "regulator_2")
    client.post(url("framework_publish", framework.pk))
    framework.refresh_from_db()
    assert framework.status == FrameworkStatus.DRAFT
    as_person(client, everyone, "regulator")
    client.post(url("framework_publish", framework.pk))
    framework.refresh_from_db()
    assert framework.status == FrameworkStatus.PUBLISHED


def test_an_author_cannot_give_a_framework_to_another_institution_or_to_nobody(
    client, everyone, institution_b
):
    as_person(client, everyone, "author")
    fields = {"title": "Taken", "version": "1.0", "language": "en", "creator": "X"}
    for owner in (institution_b.pk, ""):
        response = client.post(url("framework_create"), {**fields, "owner_institution": owner})
        assert response.status_code == HTTPStatus.OK
        assert "w-field--error" in page_text(response)
    assert not Framework.objects.exists()


def test_another_institution_cannot_change_a_draft_by_posting(client, everyone, institution_a):
    draft = make_framework("A draft", owner=institution_a)
    item = draft.items.get(code="CM.1.1")
    as_person(client, everyone, "author_b")
    posts = [
        (url("item_create", draft.pk), {"full_statement": "Sneaked in", "kind": "competency"}),
        (url("item_edit", draft.pk, item.pk), {"full_statement": "Changed", "kind": "domain"}),
        (url("item_shift", draft.pk, item.pk), {"direction": "down"}),
        (url("item_delete", draft.pk, item.pk), {}),
        (url("framework_delete", draft.pk), {}),
    ]
    for address, data in posts:
        assert outcome(client.post(address, data)) == "denied", address
    assert tree(draft) == [
        ("CM.1", 0, "domain"),
        ("CM.1.1", 1, "competency"),
        ("CM.1.2", 1, "competency"),
    ]


# --- Building a tree ----------------------------------------------------------------------


def add_item(client, framework, *, parent=None, **fields) -> CompetencyItem:
    data = {
        "kind": "competency",
        "abbreviated_statement": "",
        "notes": "",
        "parent": parent.pk if parent else "",
        **fields,
    }
    response = client.post(url("item_create", framework.pk), data)
    item = CompetencyItem.objects.get(framework=framework, code=fields["code"])
    assert response["Location"] == f"{url('framework', framework.pk)}#item-{item.pk}"
    return item


def test_author_creates_a_framework_with_nested_items(client, everyone, institution_a):
    as_person(client, everyone, "author")
    form = page_text(client.get(url("framework_create")))
    assert "No institution" not in form  # an author's frameworks always belong to an institution
    response = client.post(
        url("framework_create"),
        {
            "title": "Para-professional social service workers",
            "code": "PSSW",
            "version": "1.0",
            "language": "en",
            "creator": "Ubuntu Institute",
            "description": "Competencies for para-professionals.",
            "licence": "CC BY 4.0",
            "owner_institution": institution_a.pk,
        },
    )
    framework = Framework.objects.get(code="PSSW")
    assert response["Location"] == url("framework", framework.pk)
    assert (framework.owner_institution, framework.created_by, framework.status) == (
        institution_a,
        everyone["author"],
        FrameworkStatus.DRAFT,
    )
    assert list(framework.levels.values_list("name", "is_proficient")) == [
        ("Not yet competent", False),
        ("Developing", False),
        ("Competent", True),
        ("Proficient", False),
    ]

    domain = add_item(
        client, framework, code="PP.1", kind="domain", full_statement="Case management"
    )
    first = add_item(
        client,
        framework,
        parent=domain,
        code="PP.1.1",
        full_statement="Opens a case file",
        abbreviated_statement="Case file",
    )
    add_item(
        client, framework, parent=domain, code="PP.1.2", full_statement="Plans with the family"
    )
    add_item(
        client,
        framework,
        parent=first,
        code="PP.1.1.a",
        kind="indicator",
        full_statement="Records the child's details",
    )
    add_item(client, framework, code="PP.2", kind="domain", full_statement="Referral")

    assert tree(framework) == [
        ("PP.1", 0, "domain"),
        ("PP.1.1", 1, "competency"),
        ("PP.1.1.a", 2, "indicator"),
        ("PP.1.2", 1, "competency"),
        ("PP.2", 0, "domain"),
    ]
    page = page_text(client.get(url("framework", framework.pk)))
    listing = page[page.index('class="listing cf-tree"') :]
    assert (
        listing.index("Opens a case file")
        < listing.index("Records the child")
        < (listing.index("Plans with the family"))
    )
    assert 'data-code="PP.1.1.a" data-depth="2"' in page
    assert "(Case file)" in page
    # Row links are relative to the framework page; they lead to the item's pages.
    base = url("framework", framework.pk)
    for href, view in (
        (f"items/add/?parent={first.pk}", url("item_create", framework.pk) + f"?parent={first.pk}"),
        (f"items/{first.pk}/edit/", url("item_edit", framework.pk, first.pk)),
        (f"items/{first.pk}/shift/", url("item_shift", framework.pk, first.pk)),
        (f"items/{first.pk}/move/", url("item_move", framework.pk, first.pk)),
        (f"items/{first.pk}/delete/", url("item_delete", framework.pk, first.pk)),
    ):
        assert f'="{href}"' in listing
        assert urljoin(base, href) == view

    # The add form preselects the parent given in the link.
    form = page_text(client.get(url("item_create", framework.pk), {"parent": domain.pk}))
    assert f'<option value="{domain.pk}" selected>' in form

    # The same title and version twice, for one owner, is refused on the form.
    response = client.post(
        url("framework_create"),
        {
            "title": "Para-professional social service workers",
            "version": "1.0",
            "language": "en",
            "creator": "Ubuntu Institute",
            "owner_institution": institution_a.pk,
        },
    )
    assert "already exists" in page_text(response)
    assert Framework.objects.count() == 1

    # A code used twice is refused by the service, and its message shown on the form.
    response = client.post(
        url("item_create", framework.pk),
        {"code": "PP.1", "kind": "domain", "full_statement": "Again", "parent": ""},
        follow=True,
    )
    assert "The code PP.1 is already used in this framework." in page_text(response)
    assert framework.items.count() == 5


def test_editing_an_item_changes_its_text_and_parent(client, everyone, institution_a):
    framework = make_framework(owner=institution_a)
    as_person(client, everyone, "author")
    domain = framework.items.get(code="CM.1")
    second = framework.items.get(code="CM.1.2")
    other = add_item(client, framework, code="CM.2", kind="domain", full_statement="Referral")

    form = page_text(client.get(url("item_edit", framework.pk, domain.pk)))
    # An item cannot become its own descendant: neither it nor its children are offered.
    assert f'<option value="{second.pk}"' not in form
    assert f'<option value="{other.pk}"' in form

    client.post(
        url("item_edit", framework.pk, second.pk),
        {
            "code": "CM.2.1",
            "kind": "indicator",
            "full_statement": "Refers safely",
            "abbreviated_statement": "",
            "notes": "",
            "parent": other.pk,
        },
    )
    second.refresh_from_db()
    assert (second.code, second.kind, second.full_statement, second.parent) == (
        "CM.2.1",
        "indicator",
        "Refers safely",
        other,
    )
    assert tree(framework) == [
        ("CM.1", 0, "domain"),
        ("CM.1.1", 1, "competency"),
        ("CM.2", 0, "domain"),
        ("CM.2.1", 1, "indicator"),
    ]


def test_moving_and_reordering_items(client, everyone, institution_a):
    framework = make_framework(owner=institution_a, items=4)
    as_person(client, everyone, "author")
    third = framework.items.get(code="CM.1.3")

    client.post(url("item_shift", framework.pk, third.pk), {"direction": "up"})
    assert [code for code, _depth, _kind in tree(framework)] == [
        "CM.1",
        "CM.1.1",
        "CM.1.3",
        "CM.1.2",
    ]
    client.post(url("item_shift", framework.pk, third.pk), {"direction": "up"})
    client.post(url("item_shift", framework.pk, third.pk), {"direction": "up"})  # stays first
    assert [code for code, _depth, _kind in tree(framework)] == [
        "CM.1",
        "CM.1.3",
        "CM.1.1",
        "CM.1.2",
    ]
    client.post(url("item_shift", framework.pk, third.pk), {"direction": "down"})
    assert [code for code, _depth, _kind in tree(framework)] == [
        "CM.1",
        "CM.1.1",
        "CM.1.3",
        "CM.1.2",
    ]

    # Move under another parent: the item goes last among its new siblings.
    first = framework.items.get(code="CM.1.1")
    form = page_text(client.get(url("item_move", framework.pk, first.pk)))
    assert f'<option value="{first.pk}"' not in form
    response = client.post(url("item_move", framework.pk, first.pk), {"parent": third.pk})
    assert response["Location"] == f"{url('framework', framework.pk)}#item-{first.pk}"
    assert tree(framework) == [
        ("CM.1", 0, "domain"),
        ("CM.1.3", 1, "competency"),
        ("CM.1.1", 2, "competency"),
        ("CM.1.2", 1, "competency"),
    ]
    # …and to the top level.
    client.post(url("item_move", framework.pk, first.pk), {"parent": ""})
    assert tree(framework)[-1] == ("CM.1.1", 0, "competency")

    # Moving an item under its own descendant is not offered, and refused if posted.
    domain = framework.items.get(code="CM.1")
    response = client.post(url("item_move", framework.pk, domain.pk), {"parent": third.pk})
    assert response.status_code == HTTPStatus.OK
    assert "Select a valid choice" in page_text(response)
    domain.refresh_from_db()
    assert domain.parent is None


def test_deleting_an_item_asks_first_and_removes_its_subtree(client, everyone, institution_a):
    framework = make_framework(owner=institution_a)
    as_person(client, everyone, "author")
    domain = framework.items.get(code="CM.1")
    page = page_text(client.get(url("item_delete", framework.pk, domain.pk)))
    assert "Delete “CM.1 Case work” and the 2 items under it?" in page
    assert framework.items.count() == 3
    response = client.post(url("item_delete", framework.pk, domain.pk), follow=True)
    assert "“CM.1 Case work” deleted." in page_text(response)
    assert not framework.items.exists()


def test_search_shows_matching_items_with_their_ancestors(client, everyone, institution_a):
    framework = make_framework(owner=institution_a, items=4)
    as_person(client, everyone, "author")
    first = framework.items.get(code="CM.1.1")
    add_item(
        client,
        framework,
        parent=first,
        code="CM.1.1.a",
        kind="indicator",
        full_statement="Writes the referral letter",
    )
    add_item(client, framework, code="CM.2", kind="domain", full_statement="Advocacy")

    def codes(query):
        page = page_text(client.get(url("framework", framework.pk), {"q": query}))
        return [code for code, _d, _k in tree(framework) if f'data-code="{code}"' in page]

    assert codes("referral LETTER") == ["CM.1", "CM.1.1", "CM.1.1.a"]
    assert codes("CM.1.2") == ["CM.1", "CM.1.2"]
    assert codes("advocacy") == ["CM.2"]
    assert codes("") == ["CM.1", "CM.1.1", "CM.1.1.a", "CM.1.2", "CM.1.3", "CM.2"]
    page = page_text(client.get(url("framework", framework.pk), {"q": "nothing like it"}))
    assert "No item matches “nothing like it”." in page


# --- Scale --------------------------------------------------------------------------------


def scale_post(levels: list[tuple[str, str]], proficient: int, *, initial: int) -> dict:
    data = {
        "levels-TOTAL_FORMS": str(len(levels)),
        "levels-INITIAL_FORMS": str(initial),
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "1000",
        "proficient": str(proficient),
    }
    for index, (name, code) in enumerate(levels):
        data.update(
            {
                f"levels-{index}-name": name,
                f"levels-{index}-code": code,
                f"levels-{index}-description": "",
                f"levels-{index}-ORDER": str(index + 1),
            }
        )
    return data


def test_editing_the_scale(client, everyone, institution_a):
    framework = make_framework(owner=institution_a)
    as_person(client, everyone, "author")
    form = page_text(client.get(url("scale_edit", framework.pk)))
    assert 'name="proficient" value="2" id="proficient-2" checked' in form

    # Drop "Proficient" (left empty), rename, add a level, move the proficient mark.
    levels = [
        ("Beginning", "1"),
        ("Developing", "2"),
        ("Competent", "3"),
        ("", ""),
        ("Expert", "5"),
        ("", ""),
    ]
    response = client.post(url("scale_edit", framework.pk), scale_post(levels, 4, initial=4))
    assert response["Location"] == url("framework", framework.pk)
    assert list(
        ScaleLevel.objects.filter(framework=framework)
        .order_by("order")
        .values_list("order", "name", "code", "is_proficient")
    ) == [
        (1, "Beginning", "1", False),
        (2, "Developing", "2", False),
        (3, "Competent", "3", False),
        (4, "Expert", "5", True),
    ]

    # No proficient level: the form says so and nothing changes.
    response = client.post(
        url("scale_edit", framework.pk), scale_post([("Low", ""), ("High", "")], 5, initial=4)
    )
    assert "Mark one of the named levels as proficient." in page_text(response)
    # Two levels with one name: the service refuses and says why.
    response = client.post(
        url("scale_edit", framework.pk), scale_post([("Low", ""), ("Low", "")], 0, initial=4)
    )
    assert "Level names appear twice" in page_text(response)
    assert framework.levels.count() == 4


# --- Lifecycle ----------------------------------------------------------------------------


def test_publish_refuses_with_the_reason_and_then_freezes_the_framework(
    client, everyone, institution_a
):
    as_person(client, everyone, "author")
    empty = services.framework_create(title="Empty", creator="U", owner_institution=institution_a)
    response = client.post(url("framework_publish", empty.pk), follow=True)
    assert (
        "“Empty v1.0” cannot be published: it has no competencies; its proficiency scale "
        "has no level marked “proficient”." in page_text(response)
    )
    empty.refresh_from_db()
    assert empty.status == FrameworkStatus.DRAFT

    framework = make_framework(owner=institution_a)
    response = client.post(url("framework_publish", framework.pk), follow=True)
    page = page_text(response)
    assert "is published" in page
    framework.refresh_from_db()
    assert framework.status == FrameworkStatus.PUBLISHED
    # Every editing control is gone; versioning and export remain.
    for control in (
        "Add a top-level item",
        "Add child",
        "Edit details",
        "Edit scale",
        ">Publish<",
        "Delete draft",
        "Add an association",
    ):
        assert control not in page, control
    assert "Create new version" in page and "Retire" in page
    assert "A published framework never changes" in page

    # An editing form opened anyway sends the person back with the reason.
    response = client.get(url("item_create", framework.pk), follow=True)
    assert PUBLISHED_NOTE in page_text(response)

    # A change posted anyway is refused by the service, with its message, and nothing changes.
    item = framework.items.get(code="CM.1.1")
    before = tree(framework)
    posts = [
        (
            url("item_create", framework.pk),
            {"code": "CM.9", "kind": "domain", "full_statement": "Late addition", "parent": ""},
        ),
        (
            url("item_edit", framework.pk, item.pk),
            {"code": "CM.1.1", "kind": "indicator", "full_statement": "Rewritten", "parent": ""},
        ),
        (url("item_shift", framework.pk, item.pk), {"direction": "down"}),
        (url("item_move", framework.pk, item.pk), {"parent": ""}),
        (url("item_delete", framework.pk, item.pk), {}),
        (
            url("framework_edit", framework.pk),
            {"title": "Renamed", "version": "1.0", "language": "en", "creator": "U"},
        ),
        (url("scale_edit", framework.pk), scale_post([("Low", ""), ("High", "")], 1, initial=4)),
        (url("framework_delete", framework.pk), {}),
    ]
    for address, data in posts:
        response = client.post(address, data, follow=True)
        page = page_text(response)
        assert PUBLISHED_NOTE in page and "Create a new version to make changes." in page, address
    framework.refresh_from_db()
    assert framework.title == "Case management"
    assert tree(framework) == before
    assert framework.levels.count() == 4

    # Retire: a published framework becomes retired; retiring again is refused.
    client.post(url("framework_retire", framework.pk))
    framework.refresh_from_db()
    assert framework.status == FrameworkStatus.RETIRED
    response = client.post(url("framework_retire", framework.pk), follow=True)
    assert "Only a published framework can be retired." in page_text(response)


def test_new_version_copies_the_framework_into_a_draft(client, everyone, institution_a):
    framework = make_framework(owner=institution_a, published=True)
    as_person(client, everyone, "manager")
    form = page_text(client.get(url("framework_new_version", framework.pk)))
    assert 'value="1.1"' in form  # the next number is suggested

    response = client.post(url("framework_new_version", framework.pk), {"version": "2.0"})
    new = Framework.objects.get(version="2.0")
    assert response["Location"] == url("framework", new.pk)
    assert (new.status, new.previous_version, new.owner_institution, new.created_by) == (
        FrameworkStatus.DRAFT,
        framework,
        institution_a,
        everyone["manager"],
    )
    assert tree(new) == tree(framework)
    page = page_text(client.get(response["Location"]))
    assert "Add a top-level item" in page
    assert f'href="{url("framework", framework.pk)}"' in page  # link to the previous version

    response = client.post(url("framework_new_version", framework.pk), {"version": "2.0"})
    assert "Version 2.0 of “Case management” exists already." in page_text(response)
    assert Framework.objects.count() == 2

    # Only those who may edit the framework can version it.
    as_person(client, everyone, "author_b")
    response = client.post(url("framework_new_version", framework.pk), {"version": "3.0"})
    assert outcome(response) == "denied"
    assert not Framework.objects.filter(version="3.0").exists()


def test_editing_framework_details(client, everyone, institution_a):
    framework = make_framework(owner=institution_a)
    make_framework("Other", owner=institution_a, code="OT")
    as_person(client, everyone, "author")
    fields = {
        "title": "Case management in practice",
        "code": "CMP",
        "version": "1.0",
        "language": "fr",
        "creator": "Ubuntu",
        "description": "",
        "licence": "",
    }
    client.post(url("framework_edit", framework.pk), fields)
    framework.refresh_from_db()
    assert (framework.title, framework.code, framework.language) == (
        "Case management in practice",
        "CMP",
        "fr",
    )
    assert framework.owner_institution == institution_a
    # Title and version are unique per owner.
    response = client.post(url("framework_edit", framework.pk), {**fields, "title": "Other"})
    assert "already exists" in page_text(response)


def test_deleting_a_draft(client, everyone, institution_a):
    framework = make_framework(owner=institution_a)
    as_person(client, everyone, "author")
    page = page_text(client.get(url("framework_delete", framework.pk)))
    assert "Delete the draft “Case management v1.0”, its scale and its 3 items?" in page
    response = client.post(url("framework_delete", framework.pk))
    assert response["Location"] == url("frameworks")
    assert not Framework.objects.exists()


# --- Associations -------------------------------------------------------------------------


def test_crosswalk_to_another_frameworks_item(client, everyone, institution_a, institution_b):
    national = make_framework(
        "National", created_by=everyone["regulator"], code="NAT", published=True
    )
    draft_b = make_framework("B draft", owner=institution_b, code="BD")
    ours = make_framework(owner=institution_a)
    origin = ours.items.get(code="CM.1.1")
    as_person(client, everyone, "author")

    form = page_text(client.get(url("association_create", ours.pk), {"origin": origin.pk}))
    assert "National v1.0 (NAT)" in form and "B draft" not in form

    response = client.post(
        url("association_create", ours.pk),
        {
            "origin": origin.pk,
            "association_type": "exactMatchOf",
            "destination_framework": national.pk,
            "destination_code": "NAT.1.1",
        },
    )
    assert response["Location"] == f"{url('framework', ours.pk)}#associations"
    link = CompetencyAssociation.objects.get()
    assert (link.framework, link.origin, link.association_type, link.destination) == (
        ours,
        origin,
        "exactMatchOf",
        national.items.get(code="NAT.1.1"),
    )
    page = page_text(client.get(url("framework", ours.pk)))
    assert "is an exact match of" in page and "<small>(National v1.0)</small>" in page

    # The destination framework lists the crosswalk as incoming, to those who may see it.
    as_person(client, everyone, "regulator")
    page = page_text(client.get(url("framework", national.pk)))
    assert "Crosswalks from other frameworks" not in page  # A's draft is not theirs to see
    as_person(client, everyone, "manager")
    page = page_text(client.get(url("framework", national.pk)))
    assert "Crosswalks from other frameworks" in page and "Case management v1.0" in page

    # Unknown codes and invisible frameworks are refused on the form; duplicates by the service.
    as_person(client, everyone, "author")
    bad = {
        "origin": origin.pk,
        "association_type": "isRelatedTo",
        "destination_framework": national.pk,
        "destination_code": "NAT.9",
    }
    response = client.post(url("association_create", ours.pk), bad)
    assert "“National v1.0” has no item with the code NAT.9." in page_text(response)
    response = client.post(
        url("association_create", ours.pk),
        {**bad, "destination_framework": draft_b.pk, "destination_code": "BD.1"},
    )
    assert "Select a valid choice" in page_text(response)
    response = client.post(
        url("association_create", ours.pk),
        {
            "origin": origin.pk,
            "association_type": "exactMatchOf",
            "destination_framework": national.pk,
            "destination_code": "NAT.1.1",
        },
        follow=True,
    )
    assert "These two items are already linked this way." in page_text(response)
    assert CompetencyAssociation.objects.count() == 1

    client.post(url("association_delete", ours.pk, link.pk))
    assert not CompetencyAssociation.objects.exists()


# --- Import and export --------------------------------------------------------------------


def upload(content: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def test_export_downloads(client, everyone, institution_a):
    framework = make_framework("Case management", owner=institution_a, code="CM", published=True)
    as_person(client, everyone, "author_b")  # anyone who can see it may export it

    response = client.get(url("export_case", framework.pk))
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cm-v1.0.case.json"'
    package = json.loads(response.content)
    assert package["CFDocument"]["title"] == "Case management"
    assert package["CFDocument"]["identifier"] == str(framework.identifier)
    assert sorted(item["humanCodingScheme"] for item in package["CFItems"]) == [
        "CM.1",
        "CM.1.1",
        "CM.1.2",
    ]

    response = client.get(url("export_moodle", framework.pk))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cm-v1.0.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["Parent ID number"], r["ID number"], r["Is framework"]) for r in rows] == [
        ("", "CM", "1"),
        ("", "CM.1", ""),
        ("CM.1", "CM.1.1", ""),
        ("CM.1", "CM.1.2", ""),
    ]

    # A draft of another institution is not theirs to export.
    draft = make_framework("A draft", owner=institution_a, code="AD")
    assert outcome(client.get(url("export_moodle", draft.pk))) == "denied"


def test_import_of_moodle_csv_and_case_json(client, everyone, institution_a, institution_b):
    source = make_framework("Shared framework", owner=institution_b, code="SF", published=True)
    as_person(client, everyone, "author")
    moodle = client.get(url("export_moodle", source.pk)).content
    case = client.get(url("export_case", source.pk)).content

    form = page_text(client.get(url("framework_import")))
    assert "Moodle competency framework CSV" in form

    response = client.post(
        url("framework_import"),
        {
            "file": upload(moodle, "sf.csv"),
            "format": "moodle",
            "owner_institution": institution_a.pk,
        },
    )
    imported = Framework.objects.get(owner_institution=institution_a)
    assert response["Location"] == url("framework", imported.pk)
    assert (imported.title, imported.status, imported.created_by) == (
        "Shared framework",
        FrameworkStatus.DRAFT,
        everyone["author"],
    )
    assert [(code, depth) for code, depth, _k in tree(imported)] == [
        ("SF.1", 0),
        ("SF.1.1", 1),
        ("SF.1.2", 1),
    ]

    # A CASE package keeps its identifiers: it imports once its source is gone.
    response = client.post(
        url("framework_import"),
        {"file": upload(case, "sf.json"), "format": "case", "owner_institution": institution_a.pk},
        follow=True,
    )
    assert "a framework with identifier" in page_text(response)
    identifier = source.identifier
    Framework.objects.filter(pk=source.pk).delete()
    imported.delete()
    response = client.post(
        url("framework_import"),
        {"file": upload(case, "sf.json"), "format": "case", "owner_institution": institution_a.pk},
    )
    imported = Framework.objects.get()
    assert imported.identifier == identifier
    assert len(tree(imported)) == 3


def test_import_with_errors_lists_every_problem_and_writes_nothing(client, everyone, institution_a):
    source = make_framework("Source", owner=institution_a, code="SRC")
    as_person(client, everyone, "author")
    moodle = client.get(url("export_moodle", source.pk)).content.decode("utf-8-sig")
    source.delete()
    lines = moodle.splitlines()
    width = len(next(csv.reader([lines[0]])))
    broken = lines + [
        # the same ID number as an existing row, and a parent that is not in the file
        ",".join(["SRC.1", "SRC.1.1", "Dup", "Again", "2"] + [""] * (width - 5)),
        ",".join(["NOPE", "SRC.7", "Orphan", "Lost", "2"] + [""] * (width - 5)),
        "too,few,columns",
    ]
    response = client.post(
        url("framework_import"),
        {
            "file": upload("\n".join(broken).encode(), "broken.csv"),
            "format": "moodle",
            "owner_institution": institution_a.pk,
        },
    )
    assert response.status_code == HTTPStatus.OK
    page = page_text(response)
    assert "Nothing was imported" in page
    problems = page[page.index("data-import-errors") :]
    problems = problems[: problems.index("</ul>")]
    assert problems.count("<li>") >= 3
    assert "SRC.1.1" in problems and "NOPE" in problems and "columns" in problems
    assert not Framework.objects.exists()
    assert not CompetencyItem.objects.exists()

    # A file that is not what it claims to be gets a message too.
    response = client.post(
        url("framework_import"),
        {
            "file": upload(b"{not json", "x.json"),
            "format": "case",
            "owner_institution": institution_a.pk,
        },
    )
    assert "data-import-errors" in page_text(response)
    assert not Framework.objects.exists()


def test_import_of_a_package_without_a_scale_takes_a_chosen_frameworks_scale(
    client, everyone, institution_a, institution_b
):
    published = make_framework("Published", owner=institution_b, code="PUB", published=True)
    hidden = make_framework("B's draft", owner=institution_b, code="HID")
    as_person(client, everyone, "author")
    form = page_text(client.get(url("framework_import")))
    assert "Proficiency scale" in form
    assert f'value="{published.pk}"' in form and f'value="{hidden.pk}"' not in form

    package = json.dumps(opensalt_export()).encode()
    response = client.post(
        url("framework_import"),
        {
            "file": upload(package, "salt.json"),
            "format": "case",
            "owner_institution": institution_a.pk,
            "scale_from": hidden.pk,  # not theirs to see: not a choice
        },
    )
    assert "Select a valid choice" in page_text(response)
    response = client.post(
        url("framework_import"),
        {
            "file": upload(package, "salt.json"),
            "format": "case",
            "owner_institution": institution_a.pk,
            "scale_from": published.pk,
        },
        follow=True,
    )
    imported = Framework.objects.get(owner_institution=institution_a)
    assert list(imported.levels.values_list("name", "is_proficient")) == [
        (level.name, level.is_proficient) for level in LEVELS
    ]
    page = page_text(response)
    assert "Read differently from the file" in page and "CFDocumentURI" in page
    client.post(url("framework_publish", imported.pk))
    imported.refresh_from_db()
    assert imported.status == FrameworkStatus.PUBLISHED


# --- Cost ---------------------------------------------------------------------------------


def big_framework_data(size: int, title: str) -> FrameworkData:
    """``size`` items: domains of ten competencies, each with up to nine indicators."""
    items, n = [], 0
    while n < size:
        domain = f"D{n}"
        items.append(ItemData(key=domain, code=domain, kind="domain", full_statement="Domain"))
        n += 1
        for c in range(10):
            if n >= size:
                break
            competency = f"{domain}.{c}"
            items.append(
                ItemData(
                    key=competency,
                    code=competency,
                    parent_key=domain,
                    order=c,
                    full_statement=f"Competency {competency}",
                )
            )
            n += 1
            for i in range(9):
                if n >= size:
                    break
                indicator = f"{competency}.{i}"
                items.append(
                    ItemData(
                        key=indicator,
                        code=indicator,
                        kind="indicator",
                        parent_key=competency,
                        order=i,
                        full_statement=f"Indicator {indicator}",
                    )
                )
                n += 1
    return FrameworkData(title=title, creator="U", levels=list(LEVELS), items=items)


def test_framework_page_costs_the_same_queries_for_1000_items_as_for_10(
    client, everyone, institution_a, django_assert_max_num_queries
):
    small = services.framework_import(
        data=big_framework_data(10, "Small"), owner_institution=institution_a
    )
    big = services.framework_import(
        data=big_framework_data(1000, "Big"), owner_institution=institution_a
    )
    assert big.items.count() == 1000
    as_person(client, everyone, "author")
    client.get(url("framework", small.pk))  # warm up per-session caches

    from django.db import connection

    with CaptureQueriesContext(connection) as small_queries:
        response = client.get(url("framework", small.pk))
    assert response.status_code == HTTPStatus.OK
    with django_assert_max_num_queries(len(small_queries)):
        response = client.get(url("framework", big.pk))
    page = page_text(response)
    assert page.count('<tr id="item-') == 1000
    assert 'data-code="D101.4.3" data-depth="2"' in page
