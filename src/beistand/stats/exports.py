"""CSV and XLSX of exactly what the dashboard shows: the same protected tables, in page order,
with the filters on top. Withheld cells stay "<5"/"x"."""

import io

from openpyxl import Workbook
from openpyxl.styles import Font

from beistand.core.spreadsheet import csv_writer, neutralise_row
from beistand.stats.tables import Table

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _head(filters_text: list[tuple[str, str]], k: int) -> list[list[str]]:
    rows = [["Auswertung", "Vorfälle gegen Beschäftigte (anonymisiert)"]]
    rows += [[label, value] for label, value in filters_text]
    rows.append(["Hinweis", f"<{k}: weniger als {k} Fälle; x: zurückgehalten, damit Summen "
                            "keinen kleinen Wert verraten"])
    return rows


def to_csv(tables: list[Table], filters_text, k: int) -> bytes:
    """';'-separated, UTF-8 with BOM (German spreadsheets); a blank line between tables."""
    out = io.StringIO()
    writer = csv_writer(out)  # formulas and bidi controls neutralised (core.spreadsheet)
    for row in _head(filters_text, k):
        writer.writerow(row)
    for table in tables:
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.columns)
        for row in table.rows:
            writer.writerow(row)
        if table.note:
            writer.writerow([table.note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(tables: list[Table], filters_text, k: int) -> bytes:
    """One sheet for the filters, one per table."""
    book = Workbook()
    info = book.active
    info.title = "Auswahl"
    for row in _head(filters_text, k):
        info.append(neutralise_row(row))
    info.column_dimensions["A"].width = 24
    info.column_dimensions["B"].width = 60
    bold = Font(bold=True)
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, book.sheetnames))
        sheet.append(neutralise_row([table.title]))
        sheet["A1"].font = bold
        sheet.append(neutralise_row(table.columns))
        for cell in sheet[2]:
            cell.font = bold
        for row in table.rows:
            sheet.append(neutralise_row(row))
        if table.note:
            sheet.append([])
            sheet.append(neutralise_row([table.note]))
        sheet.column_dimensions["A"].width = 44
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_name(title: str, taken: list[str]) -> str:
    name = "".join(ch for ch in title if ch not in "[]:*?/\\")[:31]
    base, n = name, 2
    while name in taken:
        name = f"{base[:28]} {n}"
        n += 1
    return name
