"""The README's framework commands: import_framework and export_framework, as people run them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from competencies import demo, services
from competencies.interchange import export_case_package, parse_case_package
from competencies.models import Framework, FrameworkStatus
from tests.competencies.real_shapes import opensalt_export

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "lms.settings.test"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("command", ["export_framework", "import_framework"])
def test_the_framework_commands_start_and_explain_themselves(command):
    result = run_manage(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: manage.py" in result.stdout
    if command == "export_framework":
        assert "--framework-version" in result.stdout
    else:
        assert "--scale" in result.stdout and "--publish" in result.stdout


def test_export_framework_writes_the_framework_named_by_code_and_version(tmp_path, capsys):
    first = services.framework_import(data=demo.para_professional_data(creator="Ubuntu"))
    services.framework_publish(framework=first)
    second = services.framework_new_version(framework=first, version="2.0")

    with pytest.raises(CommandError, match="say which with --framework-version"):
        call_command("export_framework", "PSSW")
    call_command(
        "export_framework", "PSSW", "--framework-version", "2.0", "--format", "moodle",
        "-o", str(tmp_path / "pssw.csv"),
    )  # fmt: skip
    assert (tmp_path / "pssw.csv").read_text(encoding="utf-8").startswith("Parent ID number,")
    call_command("export_framework", str(first.identifier), "--format", "case")
    package = json.loads(capsys.readouterr().out)
    assert package["CFDocument"]["identifier"] == str(first.identifier)
    assert second.version == "2.0"


def write_package(tmp_path: Path, package: dict) -> Path:
    path = tmp_path / "salt.case.json"
    path.write_text(json.dumps(package), encoding="utf-8")
    return path


def test_import_publish_without_a_scale_leaves_nothing_and_can_be_run_again(tmp_path, capsys):
    path = write_package(tmp_path, opensalt_export())
    with pytest.raises(CommandError) as raised:
        call_command("import_framework", str(path), "--publish")
    assert "proficiency scale has no level marked “proficient”" in str(raised.value)
    assert "Nothing was imported." in str(raised.value)
    assert not Framework.objects.exists()

    scale = services.framework_import(data=demo.para_professional_data(creator="Ubuntu"))
    services.framework_publish(framework=scale)
    call_command("import_framework", str(path), "--publish", "--scale", "PSSW")
    out = capsys.readouterr().out
    imported = Framework.objects.get(title="What social service workers do")
    assert imported.status == FrameworkStatus.PUBLISHED
    assert f"identifier {imported.identifier}, published)." in out
    assert "Read differently from how the file writes it:" in out
    assert "'CFDocumentURI' is not a CASE 1.1 field" in out
    assert list(imported.levels.values_list("name", "is_proficient")) == list(
        scale.levels.values_list("name", "is_proficient")
    )
    # The levels are the new framework's own copies.
    assert not set(imported.levels.values_list("pk", flat=True)) & set(
        scale.levels.values_list("pk", flat=True)
    )


def test_import_with_a_scale_when_the_file_has_one_is_refused(tmp_path):
    scale = services.framework_import(data=demo.para_professional_data(creator="Ubuntu"))
    services.framework_publish(framework=scale)
    other = demo.para_professional_data(creator="Other")
    other.title = "Another framework"  # and so other identifiers, derived from it
    path = write_package(tmp_path, export_case_package(other, base_url="http://x"))
    assert parse_case_package(path.read_bytes()).levels
    with pytest.raises(CommandError, match="the file has its own proficiency scale"):
        call_command("import_framework", str(path), "--scale", str(scale.identifier))
    assert Framework.objects.count() == 1
