"""The certificates app's rooms stay findable: no module over ~600 lines, no import cycles
between its modules, and no imports hidden inside functions to dodge one.

Read from the source with ``ast`` (nothing is imported), so a cycle fails here with its
path rather than somewhere as a half-initialised module.
"""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "certificates"
MAX_LINES = 600
#: Imports inside functions that are there on purpose, each with its reason in the code.
DELIBERATE_LAZY_IMPORTS = {
    # Django asks that what uses models be imported once the apps are ready.
    ("certificates.apps", "certificates.api"),
    ("certificates.apps", "certificates.checks"),
    ("certificates.apps", "certificates.learner_hooks"),
    ("certificates.apps", "certificates.signals"),
    ("certificates.apps", "certificates.tasks"),
    # WeasyPrint takes seconds to import; only the processes that render need it.
    ("certificates.delivery", "certificates.rendering"),
    ("certificates.rendering", "certificates.pdf_writer"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for path in sorted(APP.rglob("*.py"))
    if "migrations" not in path.relative_to(APP).parts
}


def imported_modules(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The app's modules an import statement imports."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & MODULES.keys()
    if node.level or not node.module:
        raise AssertionError(f"relative import at line {node.lineno}: write it in full")
    # ``from certificates import services``: the module; ``from certificates.models import
    # Certificate``: the module the names come from.
    submodules = {f"{node.module}.{alias.name}" for alias in node.names} & MODULES.keys()
    return submodules or ({node.module} & MODULES.keys())


def imports_of(name: str) -> tuple[set[str], set[str]]:
    """(imported at module level, imported inside a function or class) of one module."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    top, inner = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            (top if node in tree.body else inner).update(imported_modules(node) - {name})
    return top, inner


@pytest.mark.parametrize("name", list(MODULES))
def test_no_module_of_the_app_is_longer_than_a_room_should_be(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it by responsibility"


def test_the_apps_modules_import_each_other_without_a_cycle():
    graph = {name: imports_of(name)[0] for name in MODULES}
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for imported in sorted(graph[name]):
            if state.get(imported) == "open":
                cycle = [*path[path.index(imported) :], imported]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if imported not in state:
                visit(imported, [*path, imported])
        state[name] = "done"

    for name in MODULES:
        if name not in state:
            visit(name, [name])


def test_no_import_hides_in_a_function_but_the_deliberate_ones():
    hidden = {
        (name, imported) for name in MODULES for imported in imports_of(name)[1]
    } - DELIBERATE_LAZY_IMPORTS
    assert not hidden, f"imports inside functions: {sorted(hidden)}"


def test_settings_are_read_through_app_settings():
    """Besides app_settings, only models (AUTH_USER_MODEL) and redis_scripts (the default
    cache's CACHES entry, which is Django's, not the app's) read Django's settings."""
    readers = {
        name
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom)
        and node.module == "django.conf"
        and any(alias.name == "settings" for alias in node.names)
    }
    assert readers == {
        "certificates.app_settings",
        "certificates.models",
        "certificates.redis_scripts",
    }


def test_models_import_neither_services_nor_selectors_and_only_apps_imports_the_tasks():
    models_import = imports_of("certificates.models")[0]
    assert not models_import & {"certificates.services", "certificates.selectors"}
    importers_of_tasks = {
        name for name in MODULES if "certificates.tasks" in set().union(*imports_of(name))
    }
    assert importers_of_tasks == {"certificates.apps"}
