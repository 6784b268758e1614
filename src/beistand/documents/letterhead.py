"""The body as documents and letters show it: its name and address, its letterhead, people's
display names, unbreakable citations."""

from beistand.documents.layout import NBSP, Letterhead
from beistand.organisation import services as org
from beistand.organisation.models import Body, OrgUnit


def body() -> Body:
    """The body (singleton pk=1); a placeholder when the administrator has not entered it yet."""
    return Body.objects.filter(pk=1).first() or Body(name="Behörde (Name nicht hinterlegt)")


def body_address(b: Body) -> str:
    town = NBSP.join(p for p in (b.postal_code, b.city) if p)  # "12345 Stadt" stays together
    return ", ".join(p for p in (b.street, town) if p)


def letterhead(b: Body, title: str, reference: str, generated_at) -> Letterhead:
    """The body's letterhead for any document or letter (reference: file number shown)."""
    logo = None
    if b.logo:
        try:
            with b.logo.open("rb") as fh:
                logo = fh.read()
        except OSError:
            logo = None  # a missing file must not stop the document
    town = " ".join(p for p in (b.postal_code, b.city) if p)
    lines = tuple(p for p in (b.street, town) if p)
    return Letterhead(body_name=b.name, address_lines=lines, logo=logo, document_title=title,
                      reference=reference, generated_at=generated_at)


def unit_label(unit: OrgUnit | None) -> str:
    return f"{unit.code} {unit.name}" if unit else ""


user_name = org.display_name  # the name under a letter: as everywhere else


def unbreakable(value: str) -> str:
    """"§ 241 StGB" with non-breaking spaces: a legal citation is never split across lines."""
    return value.replace(" ", NBSP)
