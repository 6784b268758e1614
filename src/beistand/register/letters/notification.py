"""The Art. 14 GDPR notification: what is stored, why, on which legal basis, for how long, who
sees it, where it comes from, and the person's rights."""

from beistand.documents import layout
from beistand.documents import letterhead as lh
from beistand.documents.layout import fields, fmt_date, para
from beistand.register.disclosure import LEGAL_BASIS, PURPOSES, RECIPIENTS, person_data
from beistand.register.letters import common as c
from beistand.register.models import RightsRequest

TITLE = "Information Art. 14"  # short: the footer centres the marking


def reference(req: RightsRequest) -> str:
    return f"ZKS-BR-{req.pk}"


def stored_rows(person) -> list[tuple[str, object]]:
    data = person_data(person)
    addresses = []
    for a in data["addresses"]:
        line = f"{a['street']} {a['house_number']}".strip() + f", {a['postal_code']} {a['city']}"
        if a["valid_to"]:
            line += f" (bis {fmt_date(a['valid_to'])})"
        elif a["valid_from"]:
            line += f" (seit {fmt_date(a['valid_from'])})"
        addresses.append(line.strip(", "))
    offences = sorted({o for e in data["entries"] for o in e["offences"]})
    dates = [fmt_date(e["incident_date"]) for e in data["entries"]]
    return [
        ("Name, Vornamen", c.full_name(person)),
        ("Geburtsname", data["birth_name"]),
        ("weitere Namen", data["aliases"]),
        ("Geburtsdatum", fmt_date(data["date_of_birth"])),
        ("Anschriften", addresses),
        ("Gefährdungsstufe", f"{data['hazard_level']} (Skala 0–3)"),
        ("Deliktskategorien", offences),
        ("Datum der Vorfälle", dates),
        ("empfohlene Schutzmaßnahmen", data["measures"] or "keine"),
    ]


def story(req: RightsRequest) -> list:

    person = req.person
    b = lh.body()
    out = [c.address_block(person, c.info(reference(req))),
           *c.subject("Information über die Speicherung Ihrer Daten im Melde- und "
                      "Auskunftsregister (Art. 14 DSGVO)"),
           c.salutation(person),
           para(f"die {b.name} führt nach dem Beschäftigtenschutzgesetz NRW ein Melde- und "
                f"Auskunftsregister zum Schutz ihrer Beschäftigten. Wir informieren Sie, dass "
                f"dort seit dem {fmt_date(req.received_on)} Angaben zu Ihrer Person "
                f"gespeichert sind."),
           *c.heading("Welche Daten wir speichern"),
           fields(stored_rows(person), missing="nicht gespeichert"),
           *c.heading("Zweck"),
           *[c.bullet(p) for p in PURPOSES],
           *c.heading("Rechtsgrundlage"),
           *[c.bullet(p) for p in LEGAL_BASIS],
           *c.heading("Herkunft der Daten"),
           para("Meldung von Beschäftigten der Behörde über einen Vorfall bei der "
                "Aufgabenerfüllung. Angaben zur meldenden Person werden im Register nicht "
                "gespeichert."),
           *c.heading("Empfänger"),
           *[c.bullet(p) for p in RECIPIENTS],
           *c.heading("Speicherdauer"),
           para(c.retention_text(person)),
           *c.rights_section(),
           c.contact_and_closing()]
    return out


def notification_draft(req: RightsRequest) -> layout.Draft:
    """The letter gathered (reads the database: call it in the audited read's transaction)."""
    return layout.Draft(c.letterhead(TITLE, reference(req)), story(req))


def notification_letter(req: RightsRequest) -> bytes:
    return notification_draft(req).render()
