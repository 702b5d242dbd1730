"""The demo frameworks survive export → import in both formats, crosswalk included."""

import json

import pytest

from competencies import demo, selectors, services
from competencies.interchange import (
    export_case_package,
    export_moodle_csv,
    parse_case_package,
    parse_moodle_csv,
)
from competencies.models import CompetencyAssociation, Framework

pytestmark = pytest.mark.django_db


def tree(framework):
    return [
        (n.depth, n.item.code, n.item.kind, n.item.full_statement)
        for n in selectors.framework_tree_rows(framework=framework)
    ]


@pytest.fixture
def demo_frameworks():
    para = services.framework_import(data=demo.para_professional_data(creator="Ubuntu"))
    services.framework_publish(framework=para)
    national = services.framework_import(data=demo.national_data(para_professional=para))
    return para, national


def test_case_round_trip_of_both_demo_frameworks(demo_frameworks):
    para, national = demo_frameworks
    before = {f.code: tree(f) for f in (para, national)}
    levels = list(para.levels.values_list("name", "is_proficient"))
    packages = {
        f.code: json.dumps(
            export_case_package(selectors.framework_data(framework=f), base_url="http://x")
        )
        for f in (para, national)
    }
    national.delete()
    para.delete()
    para = services.framework_import(data=parse_case_package(packages["PSSW"].encode()))
    national = services.framework_import(data=parse_case_package(packages["NPSW"].encode()))
    assert {f.code: tree(f) for f in (para, national)} == before
    assert list(para.levels.values_list("name", "is_proficient")) == levels
    links = CompetencyAssociation.objects.filter(
        framework=national, association_type="exactMatchOf"
    )
    assert {(a.origin.code, a.destination.code) for a in links} == {
        ("NPS.A1", "PP.1.3"),
        ("NPS.A2", "PP.1.2"),
        ("NPS.B1", "PP.3.1"),
        ("NPS.B2", "PP.5.2"),
        ("NPS.B3", "PP.4.1"),
        ("NPS.C1", "PP.8.1"),
    }
    assert all(a.destination.framework == para for a in links)


def test_moodle_csv_round_trip_of_the_demo_framework(demo_frameworks):
    para, national = demo_frameworks
    before = tree(para)
    csv_text = export_moodle_csv(selectors.framework_data(framework=para))
    national.delete()
    para.delete()
    imported = services.framework_import(data=parse_moodle_csv(csv_text.encode()))
    assert tree(imported) == before
    assert imported.levels.get(is_proficient=True).name == "Competent"
    assert Framework.objects.count() == 1
