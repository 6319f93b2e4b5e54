"""The web app's layout contract (issue "One home per domain"), checked in every test run:
the import contract of pyproject.toml, one module per lifecycle, file sizes, packaging."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKET = ROOT / "market"


def _python_files() -> list[Path]:
    return sorted(p for p in MARKET.rglob("*.py") if "translations" not in p.parts)


def test_import_contract_holds() -> None:
    """Domains import core and the domains below them only; core imports no domain; the
    engine imports nothing of the web (import-linter, configured in pyproject.toml)."""
    from importlinter.cli import lint_imports

    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def _status_assignments(path: Path) -> list[tuple[int, str]]:
    """`<something>.status = ...` (plain or in a tuple) where <something> names an order, a
    quote or a booking."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Assign):
            continue
        targets = []
        for target in node.targets:
            targets.extend(target.elts if isinstance(target, ast.Tuple) else [target])
        for target in targets:
            if (isinstance(target, ast.Attribute) and target.attr == "status"
                    and isinstance(target.value, ast.Name)
                    and target.value.id in {"order", "quote", "booking", "other", "b", "row"}):
                found.append((node.lineno, target.value.id))
    return found


def test_each_lifecycle_has_one_owner() -> None:
    owners = {MARKET / "orders" / "lifecycle.py", MARKET / "deals" / "lifecycle.py"}
    elsewhere = {}
    for path in _python_files():
        if path in owners:
            continue
        hits = [(line, name) for line, name in _status_assignments(path)
                if name in {"order", "quote", "booking", "other", "b"}]
        if hits:
            elsewhere[str(path.relative_to(ROOT))] = hits
    assert not elsewhere, f"status set outside the lifecycle modules: {elsewhere}"
    # and the check sees what it looks for
    assert _status_assignments(MARKET / "orders" / "lifecycle.py")


def test_no_file_is_over_about_500_lines() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in _python_files()}
    assert len(sizes) > 50
    over = {name: n for name, n in sizes.items() if n > 500}
    assert not over, over


@pytest.mark.slow
def test_the_wheel_carries_seed_templates_static_and_translations(tmp_path: Path) -> None:
    """`pip install .` must be enough to serve pages and seed a database."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("yunzao-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("seed/taxonomy.py", "seed/demo_world.py", "market/templates/base.html",
                     "market/templates/orders/show.html", "market/static/css/app.css",
                     "market/translations/zh/LC_MESSAGES/messages.mo", "matching/solver.py",
                     "market/orders/lifecycle.py", "market/catalog/data/cn_cities.csv"):
        assert expected in names, expected
