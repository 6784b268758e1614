"""The direction of the code base: the import graph of ``src/beistand`` has no cycle across apps
and none inside ``alarms``, and no module uses another module's private names.

The layers are declared once, in ``pyproject.toml`` (``[tool.importlinter]``), and explained in
``docs/architecture.md``. import-linter builds the graph from the source with grimp: every
import counts, also those inside functions (only migrations are left out), so a function-level
import cannot hide a cycle.
"""

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_import_contracts_are_kept():
    result = _lint_imports(SRC)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    # A lower layer reaching up, hidden in a function as the old code did.
    ("core/errors.py", "def _up():\n    from beistand.web import views  # noqa\n", "Layers"),
    # Two domain apps of one layer may not know each other.
    ("register/models.py", "def _side():\n    import beistand.alarms.models  # noqa\n",
     "Layers"),
    # A cycle inside alarms: the runtime bridge must not know the hub.
    ("alarms/runtime.py", "def _loop():\n    from beistand.alarms import hub  # noqa\n",
     "alarms"),
])
def test_a_new_wrong_import_breaks_the_contracts(tmp_path, module, line, contract):
    """The check bites: the same source plus one import in the wrong direction fails."""
    copy = tmp_path / "src"
    shutil.copytree(SRC / "beistand", copy / "beistand",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    target = copy / "beistand" / module
    if not target.exists():
        pytest.fail(f"{module} is gone; name another module of the same layer here")
    target.write_text(target.read_text() + "\n\n" + line)
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken


def _module_name(path: Path) -> str:
    parts = list(path.with_suffix("").relative_to(SRC).parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_private(name: str) -> bool:
    # Django's model ``_meta`` is public API despite its underscore.
    return name.startswith("_") and not name.startswith("__") and name != "_meta"


def private_name_uses(source: str, module: str) -> list[str]:
    """``from beistand.x import _y`` and ``x._y`` where ``x`` is an imported beistand module or
    name, in ``source`` (the text of ``module``)."""
    tree = ast.parse(source)
    found, imported = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "beistand" and node.module != module:
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
                imported.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "beistand":
                    imported.add(alias.asname or "beistand")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        # ``services._x`` and the spelled-out ``beistand.alarms.services._x`` alike.
        parts, base = [node.attr], node.value
        while isinstance(base, ast.Attribute):
            parts.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in imported:
            found.append(f"{node.lineno}: {'.'.join([base.id, *reversed(parts)])}")
    return found


def test_no_module_uses_another_modules_private_names():
    offences = []
    for path in sorted((SRC / "beistand").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for use in private_name_uses(path.read_text(encoding="utf-8"), _module_name(path)):
            offences.append(f"{path.relative_to(ROOT)}:{use}")
    assert not offences, "\n".join(offences)


def test_the_private_name_check_sees_both_forms():
    source = ("from beistand.alarms import services\n"
              "from beistand.reports.workflow import _is_reporter\n"
              "import beistand.alarms.dispatch\n"
              "services._broadcast(1)\n"
              "beistand.alarms.dispatch._notify()\n"
              "Report._meta.get_field('x')\n")
    assert sorted(private_name_uses(source, "beistand.web.views")) == [
        "2: from beistand.reports.workflow import _is_reporter", "4: services._broadcast",
        "5: beistand.alarms.dispatch._notify"]
