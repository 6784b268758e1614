"""The organisation's start page card: the viewer's own contact data, which the silent alarm shows
to helpers (every viewer gets it; see ``beistand.core.cards``)."""

from beistand.core.cards import Card, Viewer, card
from beistand.organisation import services as org


def _dash(value) -> str:
    return value or "nicht hinterlegt"


@card(900)
def contact_card(viewer: Viewer) -> Card:
    employee = viewer.employee
    if employee is None:
        return Card(
            key="contact", title="Ihre Kontaktdaten", tone="warning", status="fehlen",
            text=["Ihrem Konto ist kein Beschäftigtendatensatz zugeordnet. Für den stillen "
                  "Alarm und für Meldungen braucht beistand Ihre Organisationseinheit, Ihren "
                  "Raum und Ihre Telefonnummern. Bitte wenden Sie sich an die Administration."])
    supervisor = org.direct_supervisor(employee)
    room = str(employee.room) if employee.room_id else ""
    missing = []
    if not employee.room_id and not employee.field_service:
        missing.append("Raum")
    if not (employee.service_phone or employee.mobile_phone):
        missing.append("Telefonnummer")
    if missing:
        viewer.attend(
            "warning",
            f"In Ihren Kontaktdaten fehlt: {', '.join(missing)}. Im Alarmfall findet Hilfe Sie "
            "dann nicht so schnell. Bitte melden Sie die Angaben der Administration.")
    facts = [
        ("Name", employee.full_name),
        ("Organisationseinheit", str(employee.unit)),
        ("Raum", _dash(room)),
        ("Diensttelefon", _dash(employee.service_phone)),
        ("Diensthandy", _dash(employee.mobile_phone)),
        ("E-Mail", _dash(employee.email)),
        ("Vorgesetzte/r", supervisor.full_name if supervisor else "nicht hinterlegt"),
    ]
    if employee.field_service:
        facts.append(("Außendienst", "ja"))
    return Card(
        key="contact", title="Stimmen Ihre Kontaktdaten?",
        tone="warning" if missing else "", status="unvollständig" if missing else "",
        text=["Beim stillen Alarm sehen die alarmierten Kolleginnen und Kollegen Ihren Namen, "
              "Ihren Raum und Ihre Telefonnummer. Bitte prüfen Sie die Angaben und melden Sie "
              "Fehler der Administration."],
        facts=facts)
