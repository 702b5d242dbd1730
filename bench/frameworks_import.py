"""Benchmark: importing a 5,000-item framework as CASE JSON and as Moodle CSV.

Run:  make bench-frameworks        (PostgreSQL at DATABASE_URL; see README "Benchmarks")

Prints, for each format, the time to parse and write 5,000 items (target: under 5 s each)
and, as the baseline measured in the same run, a raw ``bulk_create`` of the same rows
without parsing or validation; the ratio says what parsing and checking cost.
"""

import os
import sys
import time
import uuid

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lms.settings.test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")

ITEMS = int(os.environ.get("BENCH_ITEMS", "5000"))
TARGET_SECONDS = 5.0


def build_data(n: int):
    """A realistic shape: 10 domains × 50 competencies × 9 indicators ≈ 5,000 items."""
    from competencies.demo import SCALE
    from competencies.interchange import AssociationData, FrameworkData, ItemData

    items, associations = [], []
    domains = max(1, n // 500)
    per_domain = max(1, (n - domains) // domains)
    competencies_per_domain = max(1, -(-per_domain // 10))  # rounded up; trimmed to n below
    for d in range(domains):
        d_code = f"D{d + 1}"
        items.append(
            ItemData(
                key=str(uuid.uuid4()),
                code=d_code,
                kind="domain",
                full_statement=f"Domain {d + 1}",
                order=d,
            )
        )
        d_key = items[-1].key
        for c in range(competencies_per_domain):
            if len(items) >= n:
                break
            c_code = f"{d_code}.{c + 1}"
            items.append(
                ItemData(
                    key=str(uuid.uuid4()),
                    code=c_code,
                    parent_key=d_key,
                    full_statement=f"Competency {c_code}: works with families",
                    order=c,
                )
            )
            c_key = items[-1].key
            for i in range(9):
                if len(items) >= n:
                    break
                items.append(
                    ItemData(
                        key=str(uuid.uuid4()),
                        code=f"{c_code}.{i + 1}",
                        kind="indicator",
                        parent_key=c_key,
                        order=i,
                        full_statement=f"Indicator {c_code}.{i + 1}",
                    )
                )
            if c:
                associations.append(AssociationData("isRelatedTo", c_key, items[-11].key))
    for item in items:
        item.identifier = item.key
    return FrameworkData(
        title="Benchmark framework",
        code="BENCH",
        version="1",
        creator="Bench",
        levels=list(SCALE),
        items=items,
        associations=associations,
    )


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> int:
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        import json

        from competencies import selectors, services
        from competencies.interchange import (
            export_case_package,
            export_moodle_csv,
            parse_case_package,
            parse_moodle_csv,
        )
        from competencies.models import CompetencyItem, Framework

        data = build_data(ITEMS)
        case_bytes = json.dumps(export_case_package(data, base_url="http://bench")).encode()
        csv_bytes = export_moodle_csv(data).encode()
        print(
            f"Database: {connection.vendor} ({test_db}); items: {len(data.items)}; "
            f"CASE file {len(case_bytes) / 1e6:.1f} MB, CSV file {len(csv_bytes) / 1e6:.1f} MB"
        )

        def baseline():
            framework = Framework.objects.create(title="baseline", creator="b", version="0")
            CompetencyItem.objects.bulk_create(
                [
                    CompetencyItem(
                        framework=framework,
                        code=i.code,
                        full_statement=i.full_statement,
                        kind=i.kind,
                        order=i.order,
                    )
                    for i in data.items
                ],
                batch_size=1000,
            )
            return framework

        base_seconds, base_framework = timed(baseline)
        print(f"baseline: raw bulk_create of {len(data.items)} rows   {base_seconds:6.2f} s")
        failures = 0
        for name, parse, payload in (
            ("CASE JSON", parse_case_package, case_bytes),
            ("Moodle CSV", parse_moodle_csv, csv_bytes),
        ):
            Framework.objects.exclude(pk=base_framework.pk).delete()
            seconds, framework = timed(
                lambda parse=parse, payload=payload: services.framework_import(data=parse(payload))
            )
            count = framework.items.count()
            verdict = "ok" if seconds < TARGET_SECONDS else "SLOWER THAN TARGET"
            failures += seconds >= TARGET_SECONDS
            print(
                f"{name:<10} import of {count} items       {seconds:6.2f} s   "
                f"ratio to baseline {seconds / base_seconds:5.1f}×   "
                f"target < {TARGET_SECONDS:.0f} s: {verdict}"
            )
        seconds, _ = timed(lambda: selectors.framework_tree_rows(framework=framework))
        print(f"tree of {count} items read in            {seconds:6.2f} s")
        return 1 if failures else 0
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    raise SystemExit(main())
