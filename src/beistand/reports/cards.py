"""The reports app's start page cards (see ``beistand.core.cards``): the report button with the
viewer's own reports, and the work queue of supervisors, personnel and ZKS."""

from django.db.models import Count
from django.urls import reverse

from beistand.accounts.roles import Role
from beistand.core.cards import Card, Link, Viewer, card, count, date_time_text, links
from beistand.reports import services as reports
from beistand.reports import workflow
from beistand.reports.models import Status


@card(20)
def report_card(viewer: Viewer) -> Card | None:
    if viewer.employee is None:
        return None
    mine = reports.visible_reports(viewer.user).filter(reporter=viewer.employee)
    counts = dict(mine.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    open_count = sum(n for status, n in counts.items() if status not in workflow.FINAL_STATES)
    returned = counts.get(Status.RETURNED, 0)
    drafts = counts.get(Status.DRAFT, 0)
    mine_url = reverse("reports:mine")
    if returned:
        viewer.attend(
            "warning", count(returned, "Ihrer Meldungen wurde", "Ihrer Meldungen wurden")
            + " zur Überarbeitung zurückgegeben.", Link("Meine Meldungen", mine_url))
    facts = [("Offene Meldungen", str(open_count)), ("Entwürfe", str(drafts))]
    return Card(
        key="report", title="Vorfall melden",
        text=["Wurden Sie beleidigt, bedroht oder angegriffen? Melden Sie es – in wenigen "
              "Minuten, auch vom Diensthandy. Jeder Angriff wird angezeigt; Sie sehen, was "
              "aus Ihrer Meldung wird."],
        facts=facts, template="reports/start_report_card.html",
        extra={"new_url": reverse("reports:new")},
        links=links(("Meine Meldungen", mine_url), ("Hilfsangebote", reverse("reports:help"))))


@card(30)
def queue_card(viewer: Viewer) -> Card | None:
    roles = viewer.roles
    if not roles & {Role.SUPERVISOR, Role.PERSONNEL, Role.ZKS}:
        return None
    waiting = reports.queue(viewer.user)
    total = waiting.count()
    overdue = waiting.filter(due_at__lt=viewer.now).count()
    queue_url = reverse("reports:queue")
    if overdue:
        viewer.attend(
            "danger", count(overdue, "Meldung in Ihrer Arbeitsliste ist", "Meldungen in Ihrer "
                            "Arbeitsliste sind") + " überfällig.",
            Link("Arbeitsliste", queue_url))
    elif total:
        nearest = waiting.exclude(due_at__isnull=True).order_by("due_at").first()
        deadline = (f" – nächste Frist {date_time_text(nearest.due_at)}"
                    if nearest is not None else "")
        viewer.attend(
            "warning", count(total, "Meldung wartet", "Meldungen warten") + " auf Sie"
            + deadline + ".", Link("Arbeitsliste", queue_url))
    tasks = []
    if Role.SUPERVISOR in roles:
        tasks.append("Meldungen Ihres Teams prüfen und freigeben")
    if Role.PERSONNEL in roles:
        tasks.append("Strafanzeige erfassen")
    if Role.ZKS in roles:
        tasks.append("Meldungen prüfen, im Register veröffentlichen oder abschließen")
    facts = [("Wartet auf Sie", str(total)), ("davon überfällig", str(overdue))]
    pairs = [("Arbeitsliste öffnen", queue_url)]
    if Role.ZKS in roles:
        facts.append(("Überfällig bei allen Stellen",
                      str(reports.overdue_reports(viewer.now).count())))
        pairs.append(("Überfällige Meldungen", reverse("reports:overdue")))
    return Card(
        key="queue", title="Ihre Arbeitsliste",
        tone="danger" if overdue else ("warning" if total else "success"),
        status=f"{overdue} überfällig" if overdue else (f"{total} offen" if total
                                                          else "nichts offen"),
        text=["Ihre Aufgaben im Meldewesen: " + "; ".join(tasks) + ". Die Fristen laufen "
              "in Stunden; die dringendste Meldung steht oben."],
        facts=facts, links=links(*pairs))
