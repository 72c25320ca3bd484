"""The house rules the import contracts cannot state: checked on the source itself."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "conferences"
MAX_MODULE_LINES = 450
# The schema's builder parses Twilio's pages, and is one thing: allowed to be long.
LONG_BY_NATURE = {APP / "schema" / "build.py"}


def _modules() -> list[Path]:
    return [path for path in APP.rglob("*.py") if "migrations" not in path.parts]


def _area(path: Path) -> str:
    relative = path.relative_to(APP).parts
    return relative[0] if len(relative) > 1 else path.stem


def test_no_area_imports_another_areas_private_names():
    """`_name` is an area's own: another area uses what it exposes."""
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            parts = node.module.split(".")
            if parts[0] != "conferences" or len(parts) < 2 or parts[1] == _area(path):
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
    assert found == []


def test_no_import_inside_a_function_except_where_django_requires_it():
    """An import in a function hides a cycle; AppConfig.ready() is where Django wants
    models imported, and TYPE_CHECKING blocks are not imports at run time."""
    found = []
    for path in _modules():
        if path == APP / "apps.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found += [
                    f"{path.relative_to(ROOT)}:{inner.lineno}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Import | ast.ImportFrom)
                ]
    assert found == []


def test_modules_stay_small_enough_to_read():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in _modules()
        if path not in LONG_BY_NATURE
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_the_import_contracts_hold():
    """The same check `make lint` runs, so a broken contract fails `pytest` alone too."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]
