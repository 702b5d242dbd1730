"""What building or installing the project leaves in the checkout stays out of git."""

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "path",
    [
        "build/lib/lms/__init__.py",  # pip install . (setuptools builds here)
        "build/bdist.linux-x86_64/wheel/lms/__init__.py",
        "ssw_lms.egg-info/PKG-INFO",  # the project's metadata, next to the packages
        "dist/ssw_lms-0.1.0-py3-none-any.whl",  # pip wheel, python -m build
    ],
)
def test_build_and_install_leftovers_are_ignored(path):
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--quiet", path], cwd=REPO_ROOT, check=False
    )

    assert result.returncode == 0, f"{path} is not ignored by .gitignore"
