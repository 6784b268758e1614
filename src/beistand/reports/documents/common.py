"""Case data as the documents phrase it: places, people, offences, perpetrators.

The body, its letterhead and people's names are ``beistand.documents.letterhead``, shared with
the register's letters and the statistics.
"""

from beistand.documents.layout import fmt_date
from beistand.organisation import services as org
from beistand.organisation.models import Employee
from beistand.reports.models import Perpetrator, Report


def place(report: Report) -> list[str]:
    """Where it happened, as lines: the room with its site address, or the field address."""
    if report.location_kind == Report.LocationKind.FIELD:
        lines = [f"Außendienst: {report.address}"]
        if report.latitude is not None and report.longitude is not None:
            lines.append(f"Koordinaten: {report.latitude:.5f}, {report.longitude:.5f}")
        return lines
    room = report.room
    if room is None:
        return ["Dienststelle (Raum nicht angegeben)"]
    building = room.floor.building
    site = building.site
    room_name = f"Raum {room.number}" + (f" ({room.name})" if room.name else "")
    return [f"{site.name}, {building.name}, {org.floor_label(room.floor)}, {room_name}",
            f"{site.street}, {site.postal_code} {site.city}"]


def offence_lines(report: Report, provisions: dict | None = None) -> list[str]:
    """One line per offence: label, and the legal provision when a mapping is given."""
    lines = []
    for offence in report.offences.order_by("-level", "sort", "label"):
        line = offence.label
        if provisions and offence.code in provisions:
            line += f" ({provisions[offence.code]})"
        lines.append(line)
    return lines


def victims(report: Report) -> list[Employee]:
    """Victims in the order they were entered (the reporter usually first)."""
    through = Report.victims.through
    ids = list(through.objects.filter(report=report).order_by("pk")
               .values_list("employee_id", flat=True))
    by_id = {e.pk: e for e in Employee.objects.filter(pk__in=ids).select_related("unit")}
    return [by_id[i] for i in ids if i in by_id]


def perpetrator_rows(p: Perpetrator) -> list[tuple[str, str | list[str]]]:
    if not p.known:
        return [("Identität", "unbekannt"), ("Beschreibung", p.description)]
    street = " ".join(x for x in (p.street, p.house_number) if x)
    town = " ".join(x for x in (p.postal_code, p.city) if x)
    address = ", ".join(x for x in (street, town) if x)
    return [
        ("Name", p.last_name),
        ("Vornamen", p.first_names),
        ("Geburtsname", p.birth_name),
        ("Weitere Namen", ", ".join(p.aliases or [])),
        ("Geburtsdatum", fmt_date(p.date_of_birth)),
        ("Anschrift", address),
        ("Beschreibung", p.description),
    ]


def perpetrator_name(p: Perpetrator) -> str:
    if not p.known or not p.last_name:
        return "unbekannt"
    name = f"{p.last_name}, {p.first_names}".strip(", ")
    if p.date_of_birth:
        name += f" (geb. {fmt_date(p.date_of_birth)})"
    return name
