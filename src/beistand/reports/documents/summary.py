"""Fallübersicht: the case at a glance for ZKS, personnel management and the supervisor.

Help requests are deliberately left out: help data is for the victim and the owning unit only.
"""

import contextlib
from datetime import date

from django.utils import timezone

from beistand.documents import layout as L
from beistand.documents import letterhead as lh
from beistand.reports import signals, workflow
from beistand.reports.documents import common
from beistand.reports.models import Report, Status

TITLE = "Fallübersicht"

# Past-tense German names of the workflow actions, for the timeline.
ACTION_LABELS = {
    "create": "Angelegt",
    "submit": "Eingereicht",
    "release": "Freigegeben",
    "return": "Zurückgegeben",
    "resubmit": "Erneut eingereicht",
    "file_complaint": "Anzeige erfasst",
    "publish": "Im Register veröffentlicht",
    "close": "Abgeschlossen",
}

DATA_LABELS = {
    "police_file_number": "Aktenzeichen",
    "complaint_date": "Anzeige/Strafantrag am",
    "house_ban_date": "Hausverbot am",
}

def _timeline_rows(report: Report) -> list[list[str]]:
    rows = []
    for change in report.history.select_related("actor").order_by("at", "pk"):
        notes = []
        for key, label in DATA_LABELS.items():
            value = (change.data or {}).get(key)
            if value:
                if key.endswith("_date"):
                    with contextlib.suppress(ValueError):  # shown as stored if not a date
                        value = L.fmt_date(date.fromisoformat(value))
                notes.append(f"{label}: {lh.unbreakable(value)}")
        if change.comment:
            notes.append(change.comment)
        rows.append([
            L.fmt_datetime(change.at).removesuffix(" Uhr"),
            ACTION_LABELS.get(change.action, change.action),
            Status(change.to_status).label if change.to_status in Status.values
            else change.to_status,
            lh.user_name(change.actor),
            "\n".join(notes),
        ])
    return rows


def _deadline_lines(report: Report, now) -> list[str]:
    lines = []
    if report.due_at:
        step = workflow.facts(report.status).step or "Nächster Schritt"
        state = "überfällig" if report.due_at < now else "offen"
        lines.append(f"{step}: fällig bis {L.fmt_datetime(report.due_at)} ({state})")
    else:
        lines.append("Für den aktuellen Status läuft keine Frist.")
    if report.reminded_at:
        lines.append(f"Erinnerung versandt am {L.fmt_datetime(report.reminded_at)}")
    if report.escalated_at:
        lines.append(f"Eskaliert am {L.fmt_datetime(report.escalated_at)}")
    return lines


def build(report: Report, generated_at) -> tuple[str, bytes]:
    b = lh.body()
    now = timezone.now()
    victims = common.victims(report)
    perpetrators = list(report.perpetrators.order_by("pk"))
    threshold = workflow.entry_threshold()

    story = [
        *L.title(f"Fallübersicht {report.reference}",
                 f"Status: {report.get_status_display()} · Gefährdungsstufe "
                 f"{report.hazard_level}"),
        L.fields([
            ("Aktenzeichen", report.reference),
            ("Status", f"{report.get_status_display()} (seit "
                       f"{L.fmt_datetime(report.status_changed_at or report.created_at)})"),
            ("Gefährdungsstufe", f"{report.hazard_level} nach Aachener Modell "
                                 f"(Eintragungsschwelle: Stufe {threshold})"),
            ("Angriff (Null Toleranz)", L.yes_no(report.attack)),
            ("Delikte", [f"{o.label} (Stufe {o.level})"
                         for o in report.offences.order_by("-level", "sort", "label")]),
            ("Zeitpunkt des Vorfalls", L.fmt_datetime(report.occurred_at)),
            ("Ort", common.place(report)),
            ("Meldende Person", f"{report.reporter.full_name}, "
                                f"{lh.unit_label(report.reporter.unit)}"),
            ("Betroffene", [f"{v.full_name}, {lh.unit_label(v.unit)}" for v in victims]),
            ("Täter/innen", [common.perpetrator_name(p) for p in perpetrators]
             or "keine Angaben"),
            ("Gemeldet am", L.fmt_datetime(report.created_at)),
        ]),
        *L.heading("Sachverhalt"),
        L.para(report.description),
        L.fields([
            ("Verletzungen", report.injuries),
            ("Arbeitsunfähigkeit", f"voraussichtlich {report.incapacity_days} Tage"
             if report.incapacity_days is not None else ""),
            ("Polizei vor Ort", L.yes_no(report.police_on_site)
             + (f", Aktenzeichen {report.police_on_site_file_number}"
                if report.police_on_site_file_number else "")),
            ("Hausverbot ausgesprochen", L.yes_no(report.house_ban_issued)),
            ("Kenntnis von anderer Behörde", L.yes_no(report.from_other_authority)),
        ]),
        *L.heading("Verlauf"),
        L.grid(["Zeitpunkt", "Schritt", "neuer Status", "durch", "Bemerkung"],
               _timeline_rows(report), [31, 26, 24, 29, 50]),
        *L.heading("Fristen"),
        L.fields([
            ("Aktueller Schritt", _deadline_lines(report, now)),
            ("Vorgaben", [f"{workflow.facts(state).step}: {workflow.deadline_hours(state)} "
                          "Stunden" for state in workflow.STATES
                          if workflow.deadline_hours(state) is not None]),
        ]),
        *L.heading("Strafanzeige und Hausverbot"),
        L.fields([
            ("Aktenzeichen Strafanzeige", report.police_file_number),
            ("Strafanzeige/Strafantrag am", L.fmt_date(report.complaint_date)),
            ("Hausverbot am", L.fmt_date(report.house_ban_date)),
        ], missing="nicht erfasst"),
    ]
    # Sections other apps add (the register: its publications of this report).
    for _receiver, section in signals.case_summary_sections.send(sender=Report, report=report):
        story += section
    if report.status == Status.CLOSED:
        story += [*L.heading("Abschluss"), L.fields([("Grund", report.close_reason)])]
    story.append(L.para("Hilfeanfragen der Betroffenen sind nicht Teil dieser Übersicht: Sie "
                        "sind nur für die betroffene Person und die zuständige Stelle "
                        "sichtbar.", "small"))
    head = lh.letterhead(b, TITLE, report.reference, generated_at)
    return f"Falluebersicht-{report.reference}.pdf", L.render(head, story)
