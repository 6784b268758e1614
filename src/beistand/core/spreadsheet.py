"""Cells for CSV and XLSX exports that a spreadsheet cannot execute or display misleadingly
(issue 16, finding 10). Every export of beistand writes its cells through this module.

* **Formulas**: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  is read as a formula by Excel and LibreOffice (``=HYPERLINK(...)`` sends data out on a click,
  DDE runs commands). Such a cell gets a leading apostrophe, which spreadsheets show as plain
  text (OWASP "CSV injection"). Numbers (int, float) stay numbers.
* **Bidirectional control characters** (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)
  reorder how a cell is displayed ("Trojan Source"), so a purpose or a name can be made to look
  like something else. They are removed.
"""

import csv
import re

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def neutralise(value):
    """The cell as it may be written: text without bidi controls, formulas as plain text."""
    if not isinstance(value, str):
        return value
    text = BIDI_CONTROLS.sub("", value)
    if text.startswith(FORMULA_START):
        text = "'" + text
    return text


def neutralise_row(row) -> list:
    return [neutralise(value) for value in row]


class SafeWriter:
    """``csv.writer`` whose every cell passes ``neutralise``."""

    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row):
        return self._writer.writerow(neutralise_row(row))

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_writer(out, delimiter: str = ";", lineterminator: str = "\r\n") -> SafeWriter:
    """The CSV writer of every export (';'-separated for German spreadsheets)."""
    return SafeWriter(out, delimiter=delimiter, lineterminator=lineterminator)
