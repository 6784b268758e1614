"""The DPO's records, generated from the live configuration: the record of processing
activities (Art. 30 GDPR) and a skeleton of the data protection impact assessment (Art. 35 GDPR),
as Markdown and PDF; plus the open rights requests with their deadlines.

Both documents are drafts for the controller to complete and sign: they state what the
installation actually does (roles and how many hold them, retention periods, thresholds,
deadlines, recipients) and mark what only people can add with "[zu ergänzen]".
"""

from dataclasses import dataclass, field
from datetime import date

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from beistand.accounts import services as accounts
from beistand.accounts.models import RoleGrant
from beistand.accounts.roles import EXPIRY_REQUIRED, PRIVILEGED_ROLES, Role
from beistand.audit import services as audit
from beistand.core.errors import NotFound
from beistand.documents import layout as L
from beistand.documents import letterhead as lh
from beistand.organisation.models import OrgUnit
from beistand.register import services as register

TODO = "[zu ergänzen]"
ROLE_TASKS = {
    Role.REPORTER: "meldet Vorfälle (jede/r Beschäftigte mit Konto)",
    Role.SUPERVISOR: "prüft und gibt Meldungen des eigenen Teams frei (aus dem Organigramm)",
    Role.PERSONNEL: "erstattet Strafanzeige/Strafantrag, Hilfsangebote des Amtes 11",
    Role.ZKS: "Qualitätssicherung, Veröffentlichung im Register, Betroffenenrechte",
    Role.QUERIER: "Einzelfallabfrage im Register mit Zweckangabe (befristet)",
    Role.STATISTICS: "nur anonymisierte Auswertungen",
    Role.DPO: "Kontrolle: Zugriffsprotokoll, Prüfprotokoll, Anträge (liest, entscheidet nicht)",
    Role.SECURITY: "Sicherheitsdienst: empfängt Alarme",
    Role.ADMIN: "Stammdaten, Rollenvergabe, Kataloge",
}


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    table: tuple[list[str], list[list[str]]] | None = None


@dataclass
class Document:
    key: str
    title: str
    subtitle: str
    sections: list[Section]


def _years(n: int) -> str:
    return f"{n} Jahr" if n == 1 else f"{n} Jahren"


def _dpo_contact() -> str:
    grant = (RoleGrant.objects.active().filter(role=Role.DPO).select_related("user")
             .order_by("granted_at").first())
    if grant is not None:
        employee = getattr(grant.user, "employee", None)
        if employee is not None:
            return f"{employee.full_name}, {employee.email or TODO}"
        return grant.user.get_full_name() or grant.user.get_username()
    unit = OrgUnit.objects.filter(code="DSB").first()
    return f"{unit.code} {unit.name}" if unit else TODO


def _role_rows() -> list[list[str]]:
    counts = dict(RoleGrant.objects.active().values_list("role").annotate(n=Count("id"))
                  .values_list("role", "n"))
    rows = []
    for role in Role:
        held = "abgeleitet" if role in (Role.REPORTER, Role.SUPERVISOR) else str(
            counts.get(role.value, 0))
        rows.append([role.label, ROLE_TASKS.get(role, ""), held,
                     "ja" if role in PRIVILEGED_ROLES else "nein",
                     "ja" if role in EXPIRY_REQUIRED else "nein"])
    return rows


def _retention_rows() -> list[list[str]]:
    s = settings
    return [
        ["Registereintrag: Prüfung", f"{_years(s.REGISTER_REVIEW_YEARS)} nach dem letzten Vorfall",
         "BEISTAND_REGISTER_REVIEW_YEARS"],
        ["Registereintrag: Löschung", f"{_years(s.REGISTER_DELETE_YEARS)} nach dem letzten "
         "Vorfall (täglicher Lauf)", "BEISTAND_REGISTER_DELETE_YEARS"],
        ["Zugriffsprotokoll (Abfragen)", f"{s.REGISTER_ACCESS_LOG_DAYS} Tage, außer für eine "
         "laufende Prüfung aufbewahrt", "BEISTAND_REGISTER_ACCESS_LOG_DAYS"],
        ["Meldungen und Anlagen", TODO + " (Aufbewahrung nach Aktenordnung)", "–"],
        ["Prüfprotokoll (Audit)", TODO + " (nicht länger als die Registerdaten)", "–"],
    ]


def _threshold_rows() -> list[list[str]]:
    s = settings
    return [
        ["Eintragungsschwelle (Gefährdungsstufe)", str(s.REGISTER_ENTRY_THRESHOLD),
         "BEISTAND_REGISTER_THRESHOLD"],
        ["Frist Freigabe (Stunden)", str(s.REPORT_DEADLINE_RELEASE_HOURS),
         "BEISTAND_DEADLINE_RELEASE_HOURS"],
        ["Frist Strafanzeige (Stunden)", str(s.REPORT_DEADLINE_COMPLAINT_HOURS),
         "BEISTAND_DEADLINE_COMPLAINT_HOURS"],
        ["Frist Prüfung ZKS (Stunden)", str(s.REPORT_DEADLINE_ZKS_HOURS),
         "BEISTAND_DEADLINE_ZKS_HOURS"],
        ["Missbrauchssignal: Abfragen je Tag", str(s.MISUSE_LOOKUPS_PER_DAY),
         "BEISTAND_MISUSE_LOOKUPS_PER_DAY"],
        ["Missbrauchssignal: Einheiten je Person (30 Tage)", str(s.MISUSE_UNITS_PER_PERSON),
         "BEISTAND_MISUSE_UNITS_PER_PERSON"],
        ["Missbrauchssignal: Dienstzeit", s.WORKING_HOURS, "BEISTAND_WORKING_HOURS"],
        ["Statistik: kleinste veröffentlichte Zahl (k)", str(s.STATS_MIN_CELL),
         "BEISTAND_STATS_MIN_CELL"],
    ]


def _measures() -> list[str]:
    s = settings
    items = [
        "Rollenkonzept: jede Person sieht nur, was ihre Rolle braucht; Vergabe nur durch die "
        "Administration mit Begründung, Abfrageberechtigung immer befristet.",
        "Zwei-Faktor-Anmeldung (TOTP) für alle Rollen mit Zugriff auf personenbezogene oder "
        "Straftatdaten" + (" – im Demo-Betrieb ausgesetzt!" if s.DEMO_MODE else "."),
        f"Sperre nach {s.AXES_FAILURE_LIMIT} Fehlversuchen; Sitzungsende nach "
        f"{s.SESSION_COOKIE_AGE // 60} Minuten ohne Aktivität.",
        "Prüfprotokoll: jede Änderung und jeder Lesezugriff auf personenbezogene Daten, "
        "unveränderlich und mit SHA-256 verkettet (beistand audit verify).",
        "Registerabfragen nur im Einzelfall mit Zweck; keine Listen; jede Abfrage protokolliert "
        "(Person, Einheit, Zeit, Zweck, Suchdaten, angezeigte Einträge).",
        "Eine Installation je Behörde, kein Austausch mit anderen Stellen (BSchG NRW).",
        f"Statistik nur aggregiert; Zahlen unter {s.STATS_MIN_CELL} und rückrechenbare Zellen "
        "werden zurückgehalten.",
        "Strenge Content-Security-Policy, sichere Cookies"
        + (" (derzeit aus)" if not s.SESSION_COOKIE_SECURE else "")
        + "; Transportverschlüsselung durch den vorgeschalteten Webserver.",
    ]
    engine = s.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    items.append(f"Datenbank: {engine}; Sicherung der Datenbank und des Datenverzeichnisses "
                 f"{TODO}.")
    if getattr(s, "OIDC_ENABLED", False):
        items.append("Anmeldung über den Identitätsdienst der Behörde (OpenID Connect).")
    return items


def processing_record() -> Document:
    """Art. 30(1) GDPR: the record of processing activities of this installation."""
    body = lh.body()
    alarms = apps.is_installed("beistand.alarms")
    purposes = [
        ["Meldung von Vorfällen", "Schutz der Beschäftigten, Strafanzeige, Unfallanzeige, "
         "Hilfsangebote", "Beschäftigte (Meldende, Betroffene, Zeugen), Täter/innen",
         "Art. 6 Abs. 1 lit. c, e, Art. 10 DSGVO; § 3 BSchG NRW; DSG NRW"],
        ["Melde- und Auskunftsregister", "Warnung vor gefährdenden Personen im Einzelfall",
         "gefährdende Personen", "§ 3 BSchG NRW; Art. 6 Abs. 1 lit. e, Art. 10 DSGVO"],
        ["Zugriffsprotokoll", "Datenschutzkontrolle der Abfragen", "Abfragende, "
         "abgefragte Personen", "Art. 5 Abs. 2, Art. 32 DSGVO"],
        ["Betroffenenrechte", "Information, Auskunft, Berichtigung, Löschung, Einschränkung, "
         "Widerspruch", "gefährdende Personen", "Art. 12–21 DSGVO; §§ 11, 12 DSG NRW"],
        ["Statistik", "Prävention, Berichtswesen (anonymisiert)", "keine (aggregiert)",
         "Art. 6 Abs. 1 lit. e DSGVO"],
    ]
    if alarms:
        purposes.append(["Stiller Alarm", "Hilfe im Notfall an den Arbeitsplatz holen",
                         "Beschäftigte (Auslösende, Empfangende)", "Art. 6 Abs. 1 lit. c, e "
                         "DSGVO; Fürsorgepflicht"])
    return Document(
        key="verzeichnis", title="Verzeichnis von Verarbeitungstätigkeiten",
        subtitle=f"nach Art. 30 Abs. 1 DSGVO · {body.name} · Stand "
                 f"{timezone.localdate():%d.%m.%Y} (aus der laufenden Konfiguration erzeugt)",
        sections=[
            Section("1. Verantwortlicher und Datenschutzbeauftragte/r", table=(
                ["Angabe", "Inhalt"],
                [["Verantwortlicher", f"{body.name}, {lh.body_address(body) or TODO}"],
                 ["Vertretung", TODO],
                 ["Datenschutzbeauftragte/r", _dpo_contact()]])),
            Section("2. Zwecke, betroffene Personen, Rechtsgrundlagen",
                    table=(["Verarbeitung", "Zweck", "Betroffene", "Rechtsgrundlage"], purposes)),
            Section("3. Kategorien personenbezogener Daten", paragraphs=[
                "Beschäftigte: Name, Organisationseinheit, Raum, dienstliche Kontaktdaten, "
                "Angaben zum Vorfall und zu Verletzungen/Arbeitsunfähigkeit (Gesundheitsdaten "
                "nur so weit für die Unfallanzeige nötig), angefragte Hilfsangebote.",
                "Täter/innen und registrierte Personen: Namen, Geburtsdatum, Anschriften, "
                "Gefährdungsstufe, Deliktkategorien, Vorfallsdaten, empfohlene Schutzmaßnahmen "
                "(Daten über Straftaten, Art. 10 DSGVO). Keine Felder für besondere Kategorien "
                "nach Art. 9 DSGVO.",
                "Abfragende: Kennung, Einheit, Zeitpunkt, Zweck, Suchangaben."]),
            Section("4. Empfänger (Rollen und aktuelle Zuweisungen)", paragraphs=[
                "Die Daten verlassen die Behörde nicht; Empfänger sind die berechtigten "
                "Rollen. Übermittlung an Polizei/Staatsanwaltschaft (Strafanzeige) und "
                "Unfallversicherungsträger (" + settings.ACCIDENT_INSURER + ") im Einzelfall."],
                table=(["Rolle", "Aufgabe", "aktive Zuweisungen", "2. Faktor Pflicht",
                        "befristet"], _role_rows())),
            Section("5. Übermittlung an Drittländer", paragraphs=[
                "Keine. Ein Austausch mit anderen öffentlichen Stellen ist nach dem BSchG NRW "
                "ausgeschlossen (eine Installation je Behörde)."]),
            Section("6. Löschfristen", table=(["Daten", "Frist", "Einstellung"],
                                              _retention_rows())),
            Section("7. Schwellen und Fristen der Verarbeitung",
                    table=(["Einstellung", "Wert", "Variable"], _threshold_rows())),
            Section("8. Technische und organisatorische Maßnahmen (Art. 32 DSGVO)",
                    paragraphs=_measures()),
        ])


RISKS = [
    ["Unbefugte Abfrage (Neugier, Missbrauch)", "mittel", "hoch",
     "Rollen, Befristung, Zweckangabe, Zugriffsprotokoll, Missbrauchssignale"],
    ["Falsche oder veraltete Eintragung", "mittel", "hoch",
     "Vier-Augen-Prinzip (Freigabe, ZKS), Prüfung/Löschung nach Frist, Berichtigung"],
    ["Stigmatisierung durch Weitergabe (Listen)", "gering", "hoch",
     "keine Listen, nur Einzelfallabfrage, keine Weitergabe an andere Stellen"],
    ["Re-Identifizierung über Statistik", "gering", "mittel",
     "Zellsperrung (k) mit Sekundärsperrung, nur aggregierte Abfragen"],
    ["Offenlegung der Meldenden gegenüber Täter/innen", "gering", "hoch",
     "veröffentlichte Einträge ohne Meldendendaten; Auskunft ohne Namen Beschäftigter"],
    ["Manipulation von Daten oder Protokollen", "gering", "hoch",
     "Prüfprotokoll mit Hash-Kette, Zwei-Faktor-Anmeldung, Sicherungen"],
]


def dpia() -> Document:
    """Art. 35 GDPR: a skeleton of the impact assessment, pre-filled from the configuration."""
    body = lh.body()
    record = processing_record()
    return Document(
        key="dsfa", title="Datenschutz-Folgenabschätzung (Entwurf)",
        subtitle=f"nach Art. 35 DSGVO · {body.name} · Stand {timezone.localdate():%d.%m.%Y}",
        sections=[
            Section("1. Systematische Beschreibung der Verarbeitung", paragraphs=[
                "Meldewesen zu Angriffen auf Beschäftigte und Melde- und Auskunftsregister über "
                "gefährdende Personen nach dem BSchG NRW. Die Verarbeitungen, Betroffenen und "
                "Empfänger stehen im Verzeichnis von Verarbeitungstätigkeiten (Abschnitte 2–4); "
                "eine Folgenabschätzung ist Pflicht, weil Daten über Straftaten (Art. 10 DSGVO) "
                "umfangreich verarbeitet werden (Art. 35 Abs. 3 lit. b DSGVO)."],
                table=record.sections[1].table),
            Section("2. Notwendigkeit und Verhältnismäßigkeit", paragraphs=[
                f"Eintragung erst ab Gefährdungsstufe {settings.REGISTER_ENTRY_THRESHOLD} und "
                "nur bei Strafanzeige, Strafantrag oder Hausverbot der eigenen Behörde.",
                f"Prüfung nach {_years(settings.REGISTER_REVIEW_YEARS)}, Löschung nach "
                f"{_years(settings.REGISTER_DELETE_YEARS)} ohne neuen Vorfall; sofortige "
                "Einschränkung bei Freispruch oder Einstellung.",
                "Abfragen nur im Einzelfall, befristet berechtigt, mit Zweck; keine Listen "
                "(vgl. Court of Appeal, Clift v Slough, 2010).",
                "Bewertung der Erforderlichkeit: " + TODO]),
            Section("3. Risiken für die Rechte und Freiheiten der Betroffenen",
                    paragraphs=["Eintrittswahrscheinlichkeit und Schwere sind Vorschläge; "
                                "die Bewertung trifft der Verantwortliche."],
                    table=(["Risiko", "Wahrscheinlichkeit", "Schwere", "Maßnahmen"], RISKS)),
            Section("4. Abhilfemaßnahmen", paragraphs=_measures()),
            Section("5. Beteiligung", paragraphs=[
                f"Datenschutzbeauftragte/r: {_dpo_contact()} – Stellungnahme: {TODO}",
                f"Personalvertretung: {TODO}", f"Ergebnis und Restrisiko: {TODO}",
                f"Nächste Überprüfung: {TODO}"]),
        ])


DOCUMENTS = {"verzeichnis": processing_record, "dsfa": dpia}


def to_markdown(doc: Document) -> str:
    lines = [f"# {doc.title}", "", f"*{doc.subtitle}*", ""]
    for section in doc.sections:
        lines += [f"## {section.heading}", ""]
        for p in section.paragraphs:
            lines += [f"- {p}" if len(section.paragraphs) > 1 else p]
        if section.paragraphs:
            lines.append("")
        if section.table:
            header, rows = section.table
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            for row in rows:
                lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
            lines.append("")
    return "\n".join(lines)


def to_pdf(doc: Document) -> bytes:
    from dataclasses import replace

    short = {"verzeichnis": "Verarbeitungsverzeichnis", "dsfa": "DSFA-Entwurf"}[doc.key]
    head = replace(lh.letterhead(lh.body(), short, f"{timezone.localdate():%d.%m.%Y}",
                                 timezone.now()), marking="Intern")
    story = [*L.title(doc.title, doc.subtitle)]
    for section in doc.sections:
        story += L.heading(section.heading)
        story += [L.para(p) for p in section.paragraphs]
        if section.table:
            header, rows = section.table
            widths = [2] + [1.5] * (len(header) - 1)
            story.append(L.grid(header, [[str(c) for c in r] for r in rows], widths))
    return L.render(head, story)


def require_documents(user) -> None:
    accounts.require_role(user, Role.DPO, Role.ADMIN)


def render_document(user, key: str, fmt: str) -> tuple[str, bytes, str]:
    """(file name, content, content type) of a record; audited like every DPO read."""
    require_documents(user)
    if key not in DOCUMENTS or fmt not in ("md", "pdf"):
        raise NotFound("Dieses Dokument gibt es nicht (verzeichnis oder dsfa, .md oder .pdf).")
    doc = DOCUMENTS[key]()
    with transaction.atomic():
        audit.record("stats.dpo_document", object_type="stats.document", object_id=key,
                     object_repr=doc.title, actor=user, after={"format": fmt})
    name = f"{key}-{timezone.localdate():%Y-%m-%d}.{fmt}"
    if fmt == "md":
        return name, to_markdown(doc).encode("utf-8"), "text/markdown; charset=utf-8"
    return name, to_pdf(doc), "application/pdf"


@dataclass
class OpenRequest:
    id: int
    person: str
    kind: str
    state: str
    received_on: date
    due_on: date
    days_left: int
    overdue: bool


def open_rights_requests(user, today: date | None = None) -> list[OpenRequest]:
    """Open and deferred rights requests, nearest deadline first (person by number only);
    an audited read, as every DPO read of the register."""
    today = today or timezone.localdate()
    with transaction.atomic():
        requests = list(register.list_rights_requests(user, state="open"))
        audit.record("stats.dpo.rights_overview", object_type="register.rightsrequest",
                     object_repr="Offene Anträge", actor=user,
                     after={"count": len(requests)})
    out = []
    for r in requests:
        due = register.rights_request_due_date(r) or r.due_on
        out.append(OpenRequest(id=r.pk, person=f"Person Nr. {r.person_id}",
                               kind=r.get_kind_display(), state=r.get_state_display(),
                               received_on=r.received_on, due_on=due,
                               days_left=(due - today).days, overdue=due <= today))
    return out
