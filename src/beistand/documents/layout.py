"""Shared layout of the case documents: DIN A4, letterhead of the body, confidentiality marking,
"Seite X von Y", German dates, and small building blocks (headings, field tables, signatures).

All user text goes through ``text()``: it escapes Paragraph markup (a description containing
"<" must not break or inject markup) and folds characters the chosen font cannot show.
"""

import functools
import io
import logging
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from beistand.core import offload

log = logging.getLogger(__name__)

BERLIN = ZoneInfo("Europe/Berlin")
MARKING = "Vertraulich – personenbezogene Daten"
NBSP = "\u00a0"

PAGE_WIDTH, PAGE_HEIGHT = A4
# DIN 5008 puts the left margin at 25 mm; the right one is at least 20 mm.
LEFT, RIGHT, BOTTOM = 25 * mm, 20 * mm, 22 * mm
FRAME_WIDTH = PAGE_WIDTH - LEFT - RIGHT
FIRST_TOP = 50 * mm   # room for the letterhead on page 1
LATER_TOP = 24 * mm
LABEL_WIDTH = 50 * mm

INK = colors.HexColor("#1a1a1a")
GREY = colors.HexColor("#5a5a5a")
RULE = colors.HexColor("#b4b4b4")
ALERT = colors.HexColor("#a4000f")
NOTE_BG = colors.HexColor("#f1f1f1")

# A TrueType font with wide coverage keeps names like "Łukasz" or "Şahin" intact (a wrong name in
# a criminal complaint is a real problem). Debian ships DejaVu (fonts-dejavu-core) and Liberation;
# without them, the PDF base font Helvetica (Windows-1252) is the fallback.
_TTF_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
     "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
)


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    unicode: bool


@functools.cache
def fonts() -> Fonts:
    for regular, bold in _TTF_CANDIDATES:
        if not (Path(regular).is_file() and Path(bold).is_file()):
            continue
        try:
            pdfmetrics.registerFont(TTFont("BeistandSans", regular))
            pdfmetrics.registerFont(TTFont("BeistandSans-Bold", bold))
        except (TTFError, OSError) as exc:
            log.warning("Schrift %s nicht nutzbar: %s", regular, exc)
            continue
        pdfmetrics.registerFontFamily("BeistandSans", normal="BeistandSans",
                                      bold="BeistandSans-Bold", italic="BeistandSans",
                                      boldItalic="BeistandSans-Bold")
        return Fonts("BeistandSans", "BeistandSans-Bold", True)
    return Fonts("Helvetica", "Helvetica-Bold", False)


_FOLD = {"≤": "<=", "≥": ">=", "→": "->", "…": "...", "\u2011": "-"}


def fold(value: str) -> str:
    """The text as the font can show it: unchanged with a TrueType font; for Helvetica, characters
    outside Windows-1252 become their base letter (Ş -> S) or "?"."""
    if fonts().unicode:
        return value
    out = []
    for ch in value:
        try:
            ch.encode("cp1252")
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        if ch in _FOLD:
            out.append(_FOLD[ch])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch)
                       if not unicodedata.combining(c))
        try:
            base.encode("cp1252")
            out.append(base or "?")
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def text(value) -> str:
    """Plain (user) text -> Paragraph markup: escaped, line breaks kept."""
    escaped = escape(fold(str(value)))
    return escaped.replace("\r\n", "\n").replace("\n", "<br/>")


# --- Formatting -------------------------------------------------------------------------------

def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(BERLIN).date()
    return value.strftime("%d.%m.%Y")


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = value.astimezone(BERLIN)
    return f"{local:%d.%m.%Y}, {local:%H:%M} Uhr"


def yes_no(value: bool) -> str:
    return "ja" if value else "nein"


# --- Styles -----------------------------------------------------------------------------------

@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    f = fonts()
    base = ParagraphStyle("base", fontName=f.regular, fontSize=10, leading=13.5,
                          textColor=INK)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontName=f.bold, fontSize=17, leading=21,
                                spaceAfter=1.5 * mm),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=10.5, leading=14,
                                   textColor=GREY, spaceAfter=4 * mm),
        "h2": ParagraphStyle("h2", parent=base, fontName=f.bold, fontSize=11.5, leading=15,
                             spaceBefore=5 * mm, spaceAfter=1.5 * mm),
        "body": ParagraphStyle("body", parent=base, spaceAfter=2 * mm),
        "label": ParagraphStyle("label", parent=base, fontSize=9, leading=12.5,
                                textColor=GREY),
        "value": ParagraphStyle("value", parent=base, fontSize=10, leading=13),
        "missing": ParagraphStyle("missing", parent=base, fontSize=9.5, leading=13,
                                  textColor=GREY),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11.5,
                                textColor=GREY, spaceBefore=1.5 * mm, spaceAfter=2 * mm),
        "sublabel": ParagraphStyle("sublabel", parent=base, fontSize=9, leading=12.5,
                                   textColor=GREY, spaceBefore=3 * mm, spaceAfter=0.5 * mm),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12),
        "cellhead": ParagraphStyle("cellhead", parent=base, fontName=f.bold, fontSize=9,
                                   leading=12),
        "note": ParagraphStyle("note", parent=base, fontSize=9.5, leading=13),
        "strong": ParagraphStyle("strong", parent=base, fontName=f.bold, fontSize=11,
                                 leading=15),
    }


# --- Building blocks --------------------------------------------------------------------------

def title(main: str, sub: str = "") -> list:
    out = [Paragraph(text(main), styles()["title"])]
    if sub:
        out.append(Paragraph(text(sub), styles()["subtitle"]))
    return out


def heading(value: str) -> list:
    """A section heading, moved to the next page with its section when under ~3 rows remain.

    (keepWithNext would push a heading and its whole table to the next page, leaving half a page
    blank.)"""
    return [CondPageBreak(30 * mm), Paragraph(text(value), styles()["h2"])]


def para(value: str, style: str = "body") -> Paragraph:
    return Paragraph(text(value), styles()[style])


def markup(value: str, style: str = "body") -> Paragraph:
    """A paragraph from trusted markup (our own <b>…</b>); user parts must be ``text()``-ed."""
    return Paragraph(value, styles()[style])


def _value_cell(value, missing: str):
    if value is None or value == "" or value == []:
        return Paragraph(text(missing), styles()["missing"])
    if isinstance(value, (list, tuple)):
        return Paragraph("<br/>".join(text(v) for v in value), styles()["value"])
    if isinstance(value, str):
        return Paragraph(text(value), styles()["value"])
    return value  # already a flowable


def fields(rows, missing: str = "keine Angabe", label_width: float = LABEL_WIDTH) -> Table:
    """Label/value rows as a two-column table (values wrap; labels stay narrow)."""
    data = [[Paragraph(text(label), styles()["label"]), _value_cell(value, missing)]
            for label, value in rows]
    # splitInRow: a long value (a description, many aliases) may continue on the next page.
    table = Table(data, colWidths=[label_width, FRAME_WIDTH - label_width], hAlign="LEFT",
                  splitInRow=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (0, -1), 3 * mm),
        # Labels are 1 pt smaller than values: 1 pt more above puts both on one baseline.
        ("TOPPADDING", (0, 0), (0, -1), 3.2),
        ("TOPPADDING", (1, 0), (1, -1), 2.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.2),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, RULE),
    ]))
    return table


def grid(header: list[str], rows: list[list[str]], widths: list[float]) -> Table:
    """A table with a header row that repeats on every page."""
    s = styles()
    data = [[Paragraph(text(h), s["cellhead"]) for h in header]]
    data += [[Paragraph(text(c), s["cell"]) for c in row] for row in rows]
    scale = FRAME_WIDTH / sum(widths)
    table = Table(data, colWidths=[w * scale for w in widths], repeatRows=1, hAlign="LEFT",
                  splitInRow=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
        ("LINEBELOW", (0, 1), (-1, -1), 0.3, RULE),
    ]))
    return table


def note(value: str, *, is_markup: bool = False) -> Table:
    """A shaded box for a hint (e.g. the reporting obligation)."""
    p = Paragraph(value if is_markup else text(value), styles()["note"])
    box = Table([[p]], colWidths=[FRAME_WIDTH], hAlign="LEFT")
    box.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, -1), NOTE_BG),
        ("LEFTPADDING", (0, 0), (-1, -1), 3 * mm),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3 * mm),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5 * mm),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5 * mm),
    ]))
    return box


def signatures(labels: list[str], lead: str = "") -> KeepTogether:
    """Signature fields: a line to sign on, the label below; kept on one page."""
    s = styles()
    cells = [[Spacer(1, 14 * mm) for _ in labels],
             [Paragraph(text(label), s["small"]) for label in labels]]
    gap = 8 * mm
    width = (FRAME_WIDTH - gap * (len(labels) - 1)) / len(labels)
    widths = []
    for i in range(len(labels)):
        widths += [width] if i == 0 else [gap, width]
    rows = []
    for row in cells:
        spread = []
        for i, cell in enumerate(row):
            spread += [cell] if i == 0 else ["", cell]
        rows.append(spread)
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    commands = [("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("VALIGN", (0, 0), (-1, -1), "TOP")]
    for i in range(len(labels)):
        col = 2 * i
        commands.append(("LINEBELOW", (col, 0), (col, 0), 0.6, INK))
    table.setStyle(TableStyle(commands))
    parts = [Spacer(1, 4 * mm)]
    if lead:
        parts.append(para(lead))
    parts.append(table)
    return KeepTogether(parts)


# --- Page furniture ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Letterhead:
    body_name: str
    address_lines: tuple[str, ...]
    logo: bytes | None
    document_title: str
    reference: str
    generated_at: datetime
    marking: str = MARKING  # anonymised documents (statistics) say so instead


def _logo_reader(data: bytes | None) -> ImageReader | None:
    if not data:
        return None
    try:
        reader = ImageReader(io.BytesIO(data))
        reader.getSize()
        return reader
    except Exception as exc:  # any unreadable logo (SVG, broken file) is skipped
        log.warning("Logo der Behörde nicht lesbar, Dokument ohne Logo: %s", exc)
        return None


def _draw_first_page(head: Letterhead, logo: ImageReader | None):
    def draw(canvas: Canvas, doc):
        f = fonts()
        canvas.saveState()
        top = PAGE_HEIGHT - 20 * mm
        right = PAGE_WIDTH - RIGHT
        text_width = FRAME_WIDTH
        if logo is not None:
            iw, ih = logo.getSize()
            scale = min(45 * mm / iw, 20 * mm / ih)
            w, h = iw * scale, ih * scale
            canvas.drawImage(logo, right - w, top + 6 * mm - h, w, h, mask="auto")
            text_width = FRAME_WIDTH - w - 6 * mm
        name_size = 13
        name = fold(head.body_name)
        while name_size > 9 and canvas.stringWidth(name, f.bold, name_size) > text_width:
            name_size -= 0.5
        canvas.setFillColor(INK)
        canvas.setFont(f.bold, name_size)
        canvas.drawString(LEFT, top, name)
        canvas.setFont(f.regular, 9)
        canvas.setFillColor(GREY)
        y = top - 5 * mm
        for line in head.address_lines:
            canvas.drawString(LEFT, y, fold(line))
            y -= 4 * mm
        rule_y = PAGE_HEIGHT - 37 * mm
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.line(LEFT, rule_y, right, rule_y)
        canvas.setFont(f.bold, 9)
        canvas.setFillColor(ALERT)
        canvas.drawString(LEFT, rule_y - 5 * mm, fold(head.marking.upper()))
        canvas.setFont(f.regular, 9)
        canvas.setFillColor(GREY)
        canvas.drawRightString(right, rule_y - 5 * mm,
                               fold(f"Erstellt am {fmt_datetime(head.generated_at)}"))
        canvas.restoreState()
    return draw


def _draw_later_page(head: Letterhead):
    def draw(canvas: Canvas, doc):
        f = fonts()
        canvas.saveState()
        y = PAGE_HEIGHT - 14 * mm
        right = PAGE_WIDTH - RIGHT
        canvas.setFont(f.regular, 8.5)
        canvas.setFillColor(GREY)
        canvas.drawString(LEFT, y, fold(f"{head.body_name} · {head.document_title} · "
                                        f"{head.reference}"))
        canvas.setFont(f.bold, 8.5)
        canvas.setFillColor(ALERT)
        canvas.drawRightString(right, y, fold(head.marking))
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.6)
        canvas.line(LEFT, y - 2.5 * mm, right, y - 2.5 * mm)
        canvas.restoreState()
    return draw


def _canvas_class(head: Letterhead):
    """A canvas that knows the page count when drawing footers ("Seite 2 von 3"): it keeps each
    finished page's state and draws all footers at save time."""
    footer_left = fold(f"{head.document_title} · {head.reference}")

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._finished_pages = []

        def showPage(self):
            self._finished_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._finished_pages)
            for number, state in enumerate(self._finished_pages, start=1):
                self.__dict__.update(state)
                self._footer(number, total)
                Canvas.showPage(self)
            Canvas.save(self)

        def _footer(self, number, total):
            f = fonts()
            self.saveState()
            y = 12 * mm
            right = PAGE_WIDTH - RIGHT
            self.setStrokeColor(RULE)
            self.setLineWidth(0.6)
            self.line(LEFT, y + 4 * mm, right, y + 4 * mm)
            self.setFont(f.regular, 8)
            self.setFillColor(GREY)
            self.drawString(LEFT, y, footer_left)
            self.setFont(f.bold, 8)
            self.setFillColor(ALERT)
            self.drawCentredString(LEFT + FRAME_WIDTH / 2, y, fold(head.marking))
            self.setFont(f.regular, 8)
            self.setFillColor(GREY)
            self.drawRightString(right, y, f"Seite {number} von {total}")
            self.restoreState()

    return NumberedCanvas


@dataclass
class Draft:
    """A document gathered but not yet laid out: the letterhead and the story's flowables.

    Building the story reads the database (inside the caller's short, audited transaction);
    ``render`` only lays out pages (seconds for a long letter) and is called after the
    transaction has committed, so no lock is held while a PDF is rendered."""

    head: Letterhead
    story: list

    def render(self) -> bytes:
        return render(self.head, self.story)


class RenderInsideTransaction(RuntimeError):
    """A PDF was to be rendered inside a transaction: a programming error. The transaction
    holds the database write lock (SQLite) or the audit head's row lock (PostgreSQL) for the
    seconds of the layout, and the silent alarm would wait behind it (issue 19)."""


def _in_application_transaction() -> bool:
    from django.db import connection

    # A test harness's wrapping block does not count (the audit app's rule, the same check).
    return any(not block._from_testcase for block in connection.atomic_blocks)


def render(head: Letterhead, story: list) -> bytes:
    """The finished PDF: letterhead on page 1, short header on the others, footers everywhere.

    Refused inside a transaction: gather the story in a short transaction, render after it."""
    if _in_application_transaction():
        raise RenderInsideTransaction(
            f"{head.document_title}: PDF rendered inside transaction.atomic(); gather in the "
            "transaction, render after the commit")
    # The layout (seconds for a long letter) runs in a worker process at a lower priority: the
    # server's interpreter, which also serves the silent alarm, is never held by it.
    return offload.call(render_here, head, story,
                        what=f"Das Dokument „{head.document_title}“")


def render_here(head: Letterhead, story: list) -> bytes:
    """``render`` in this process (the worker's side of ``offload.call``)."""
    fonts()  # a fresh worker registers the TrueType font the story's paragraphs name
    # reportlab sets these class attributes in the first KeepTogether.__init__; a story that was
    # unpickled in a fresh worker has KeepTogethers whose __init__ never ran here (their split
    # failed with "no attribute 'FrameBreak'").
    if not hasattr(KeepTogether, "NullActionFlowable"):
        KeepTogether([])
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT, topMargin=LATER_TOP,
        bottomMargin=BOTTOM, title=fold(f"{head.document_title} {head.reference}"),
        author=fold(head.body_name), subject=fold(head.marking), creator="beistand", lang="de-DE")
    height_first = PAGE_HEIGHT - FIRST_TOP - BOTTOM
    height_later = PAGE_HEIGHT - LATER_TOP - BOTTOM
    first = Frame(LEFT, BOTTOM, FRAME_WIDTH, height_first, id="first",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    later = Frame(LEFT, BOTTOM, FRAME_WIDTH, height_later, id="later",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([
        PageTemplate(id="first", frames=[first],
                     onPage=_draw_first_page(head, _logo_reader(head.logo))),
        PageTemplate(id="later", frames=[later], onPage=_draw_later_page(head)),
    ])
    doc.build([NextPageTemplate("later"), *story], canvasmaker=_canvas_class(head))
    return buffer.getvalue()
