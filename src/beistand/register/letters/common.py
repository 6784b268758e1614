"""Building blocks of the register letters: the body's letterhead, the DIN 5008 address and
information block, the DPO contact, the rights paragraph and the closing.

Staff names never appear (the letters go to persons registered as dangerous): the sender is the
ZKS as a unit; the only named person is the data protection officer, whose contact Art. 14(1)(b)
GDPR requires.
"""

from django.conf import settings
from django.utils import timezone
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    KeepTogether,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from beistand.accounts.models import RoleGrant
from beistand.accounts.roles import Role
from beistand.documents import letterhead as lh
from beistand.documents.layout import (
    FRAME_WIDTH,
    Letterhead,
    fmt_date,
    markup,
    para,
    styles,
    text,
)
from beistand.organisation.models import OrgUnit
from beistand.register.disclosure import RIGHTS, SUPERVISORY_AUTHORITY
from beistand.register.models import RegisterPerson

SENDER_UNIT = "Zentrale Koordinierungsstelle (ZKS)"
# DIN 5008 form B: the address field is 45 mm high from 45 mm below the top edge; our frame
# starts at 50 mm, so the block is 40 mm high and the subject follows at about 98 mm.
ADDRESS_BLOCK_HEIGHT = 40 * mm
ADDRESS_WIDTH = 85 * mm
INFO_OFFSET = 100 * mm   # info block at 125 mm from the page's left edge


def letterhead(title: str, reference: str) -> Letterhead:
    return lh.letterhead(lh.body(), title, reference, timezone.now())


def current_address(person: RegisterPerson):
    return (person.addresses.filter(valid_to__isnull=True)
            .order_by("-valid_from", "-pk").first())


def full_name(person: RegisterPerson) -> str:
    return " ".join(p for p in (person.first_names, person.last_name) if p)


def recipient_lines(person: RegisterPerson) -> list[str]:
    lines = [full_name(person)]
    address = current_address(person)
    if address is None:
        lines.append("(keine aktuelle Anschrift gespeichert)")
    else:
        lines.append(" ".join(p for p in (address.street, address.house_number) if p))
        lines.append(" ".join(p for p in (address.postal_code, address.city) if p))
    return lines


def address_block(person: RegisterPerson, info: list[tuple[str, str]]) -> Table:
    """Return line + recipient on the left (window envelope), reference and date on the right."""
    s = styles()
    b = lh.body()
    town = " ".join(p for p in (b.postal_code, b.city) if p)
    back = " · ".join(p for p in (b.name, b.street, town) if p)
    left = [Paragraph(f"<u>{text(back)}</u>", s["small"]), Spacer(1, 6 * mm)]
    left += [Paragraph(text(line), s["value"]) for line in recipient_lines(person)]
    info_rows = [[Paragraph(text(label), s["label"]), Paragraph(text(value), s["cell"])]
                 for label, value in info]
    info_table = Table(info_rows, colWidths=[24 * mm, FRAME_WIDTH - INFO_OFFSET - 24 * mm],
                       hAlign="LEFT")
    info_table.setStyle(TableStyle([
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    table = Table([[left, "", info_table]],
                  colWidths=[ADDRESS_WIDTH, INFO_OFFSET - ADDRESS_WIDTH,
                             FRAME_WIDTH - INFO_OFFSET],
                  rowHeights=[ADDRESS_BLOCK_HEIGHT], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def info(reference: str) -> list[tuple[str, str]]:
    return [("Unser Zeichen", reference), ("Datum", fmt_date(timezone.localdate())),
            ("Stelle", SENDER_UNIT)]


def subject(value: str) -> list:
    return [Spacer(1, 8 * mm), Paragraph(text(value), styles()["strong"]), Spacer(1, 5 * mm)]


def salutation(person: RegisterPerson) -> Paragraph:
    return para(f"Guten Tag {full_name(person)},")


def dpo_contact() -> str:
    """The DPO as Art. 14(1)(b) requires: the employee holding the DPO role, else the unit
    "DSB", else the body's address."""
    b = lh.body()
    postal = ", ".join(p for p in (b.street, " ".join(x for x in (b.postal_code, b.city) if x))
                       if p)
    grant = (RoleGrant.objects.active().filter(role=Role.DPO, user__employee__active=True)
             .select_related("user__employee").order_by("pk").first())
    if grant is not None:
        e = grant.user.employee
        parts = [f"{e.first_name} {e.last_name}, Datenschutzbeauftragte/r der {b.name}", postal]
        parts += [p for p in (e.email, e.service_phone and f"Tel. {e.service_phone}") if p]
        return ", ".join(p for p in parts if p)
    unit = OrgUnit.objects.filter(code="DSB").first()
    if unit is not None:
        return f"{unit.name} ({unit.code}) der {b.name}, {postal}"
    return f"Behördliche/r Datenschutzbeauftragte/r der {b.name}, {postal}"


def rights_section() -> list:
    out = heading("Ihre Rechte")
    out.append(para("Sie haben das Recht auf:"))
    out += [bullet(r) for r in RIGHTS[:-1]]
    out.append(para(f"Sie können sich bei der Aufsichtsbehörde beschweren (Art. 77 DSGVO): "
                    f"{SUPERVISORY_AUTHORITY}. Außerdem steht Ihnen der Rechtsweg offen "
                    f"(Art. 78, 79 DSGVO)."))
    return out


def contact_and_closing() -> KeepTogether:
    """Controller, DPO and the closing kept together (a closing alone on a page looks lost)."""
    b = lh.body()
    postal = ", ".join(p for p in (b.street, " ".join(x for x in (b.postal_code, b.city) if x))
                       if p)
    return KeepTogether([
        Paragraph(text("Kontakt"), styles()["h2"]),
        markup(f"<b>Verantwortlich:</b> {text(b.name)}, {text(postal)}, {text(SENDER_UNIT)}"),
        markup(f"<b>Datenschutzbeauftragte/r:</b> {text(dpo_contact())}"),
        Spacer(1, 3 * mm), para("Mit freundlichen Grüßen"),
        para(f"Im Auftrag – {SENDER_UNIT} der {b.name}"),
        para("Dieses Schreiben wurde maschinell erstellt und ist ohne Unterschrift gültig.",
             "small")])


def heading(value: str) -> list:
    """A section heading, moved to the next page with its section when under ~2 lines remain
    (the case documents' 30 mm leave too much blank in a letter)."""
    return [CondPageBreak(18 * mm), Paragraph(text(value), styles()["h2"])]


def bullet(value: str) -> Paragraph:
    style = ParagraphStyle("bullet", parent=styles()["body"], leftIndent=5 * mm,
                           bulletIndent=1 * mm, spaceAfter=1 * mm)
    return Paragraph(text(value), style, bulletText="•")


def retention_text(person: RegisterPerson) -> str:
    review = fmt_date(person.review_on) or "—"
    delete = fmt_date(person.delete_on) or "—"
    return (f"Die Eintragung wird {settings.REGISTER_REVIEW_YEARS} Jahre nach dem letzten "
            f"Vorfall überprüft (nächste Prüfung: {review}). Gibt es "
            f"{settings.REGISTER_DELETE_YEARS} Jahre lang keinen neuen Vorfall, wird sie "
            f"gelöscht (spätestens am {delete}). Endet ein Verfahren mit Freispruch oder "
            f"Einstellung, wird die Eintragung sofort eingeschränkt.")
