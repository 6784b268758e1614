"""docs/configuration.md lists exactly the environment variables settings.py reads.

The settings source is parsed (not imported), so variables read only in optional branches (OIDC,
LDAP, SMTP) count too.
"""

import ast
import re
from pathlib import Path

import beistand.core.env
import beistand.settings

SETTINGS_FILE = Path(beistand.settings.__file__)
DOC_FILE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
# Every env_* reader of beistand.core.env (env_str, env_bool, env_choice, …).
READERS = {name for name in vars(beistand.core.env) if name.startswith("env_")}
# A table row whose first cell is a backticked variable name: | `NAME` | default | meaning |
DOC_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|", re.MULTILINE)


def variables_read() -> dict[str, int]:
    """NAME -> line for every env_*("NAME", ...) call in settings.py."""
    tree = ast.parse(SETTINGS_FILE.read_text(), filename=str(SETTINGS_FILE))
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in READERS:
            first = node.args[0] if node.args else None
            assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                f"settings.py:{node.lineno}: env_* must be called with a literal name, so that "
                "it can be checked against the documentation")
            found[first.value] = node.lineno
    return found


def variables_documented() -> list[str]:
    return DOC_ROW.findall(DOC_FILE.read_text())


def test_settings_reads_environment_only_through_env_helpers():
    source = SETTINGS_FILE.read_text()
    assert "os.environ" not in source and "getenv" not in source, (
        "read environment variables via beistand.core.env, so they are checked and documented")


def test_parser_finds_the_known_variables():
    # Guards the test itself: if parsing silently found nothing, both checks below would pass.
    found = variables_read()
    assert {"DATABASE_URL", "REDIS_URL", "EMAIL_HOST", "BEISTAND_DATA_DIR"} <= set(found)


def test_every_variable_read_is_documented():
    documented = set(variables_documented())
    missing = {name: line for name, line in variables_read().items() if name not in documented}
    assert not missing, (
        "add these variables (read in settings.py at the given lines) to a table in "
        f"docs/configuration.md with default and meaning: {missing}")


def test_every_documented_variable_is_read():
    stale = set(variables_documented()) - set(variables_read())
    assert not stale, f"docs/configuration.md lists variables settings.py no longer reads: {stale}"


def test_each_variable_is_documented_once():
    names = variables_documented()
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"documented more than once in docs/configuration.md: {duplicates}"
