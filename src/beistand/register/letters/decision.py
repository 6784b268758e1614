"""Decision letters for requests under Art. 15-18 and 21 GDPR: the decision, its reason, what
follows from it, and the person's rights."""

from beistand.documents import layout
from beistand.documents.layout import fmt_date, markup, para
from beistand.register.letters import common as c
from beistand.register.models import RightsRequest

Kind = RightsRequest.Kind
State = RightsRequest.State

# What a granted request means for the person, by kind.
CONSEQUENCE = {
    Kind.ACCESS: "Die Auskunft über alle zu Ihrer Person gespeicherten Daten liegt bei.",
    Kind.RECTIFICATION: "Wir haben die gespeicherten Angaben berichtigt. Die berichtigten "
                        "Daten sind unten aufgeführt.",
    Kind.ERASURE: "Wir haben Ihre Eintragung im Register gelöscht. Es werden keine "
                  "personenbezogenen Daten aus dem Register mehr verarbeitet.",
    Kind.RESTRICTION: "Die Verarbeitung Ihrer Daten ist eingeschränkt: Die Eintragung wird "
                      "bei Abfragen nicht mehr angezeigt und nur noch gespeichert.",
    Kind.OBJECTION: "Wir verarbeiten Ihre Daten nicht mehr: Die Eintragung wird bei Abfragen "
                    "nicht mehr angezeigt und nur noch bis zur Löschung gespeichert.",
}


def reference(req: RightsRequest) -> str:
    return f"ZKS-BR-{req.pk}"


def story(req: RightsRequest) -> list:
    person = req.person
    granted = req.state == State.GRANTED
    kind_label = req.get_kind_display()
    out = [c.address_block(person, c.info(reference(req))),
           *c.subject(f"Ihr Antrag vom {fmt_date(req.received_on)}: {kind_label}"),
           c.salutation(person),
           para(f"wir haben über Ihren Antrag vom {fmt_date(req.received_on)} entschieden."),
           markup("<b>Entscheidung:</b> " + ("Dem Antrag wird stattgegeben." if granted
                                              else "Der Antrag wird abgelehnt.")),
           *c.heading("Begründung"),
           para(req.decision_reason or "—")]
    if granted:
        out += c.heading("Folgen")
        out.append(para(CONSEQUENCE.get(req.kind, "")))
        if req.kind == Kind.RECTIFICATION:
            from beistand.register.letters.notification import stored_rows

            out.append(layout.fields(stored_rows(person)[:5], missing="nicht gespeichert"))
    else:
        out.append(para("Sie können gegen diese Entscheidung Beschwerde bei der Aufsichtsbehörde "
                        "einlegen oder gerichtlichen Rechtsschutz in Anspruch nehmen (siehe "
                        "„Ihre Rechte“)."))
    out += c.rights_section()
    out.append(c.contact_and_closing())
    return out


def decision_draft(req: RightsRequest) -> layout.Draft:
    """The letter gathered (reads the database: call it in the audited read's transaction)."""
    title = f"Entscheidung Art. {req.kind.removeprefix('art')}"
    return layout.Draft(c.letterhead(title, reference(req)), story(req))


def decision_letter(req: RightsRequest) -> bytes:
    return decision_draft(req).render()



