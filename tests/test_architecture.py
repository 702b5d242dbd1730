"""The import contracts in pyproject.toml hold: apps import one way (certificates → courses →
competencies → lms), models never import services, selectors or tasks, tasks import services
and never the reverse, and no two modules of lms, courses or competencies import each other
in a circle. ``lint-imports`` (import-linter) checks them; the test fails with its report."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(  # noqa: S603 - our own tool, our own config
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.split("Contracts:")[-1].replace("0 broken", "")
