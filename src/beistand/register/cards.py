"""The register's start page cards (see ``beistand.core.cards``): a querier's permission, the
ZKS's review tasks and rights requests, and the DPO's misuse signals from the access log."""

from django.urls import reverse

from beistand.accounts import services as accounts
from beistand.accounts.roles import Role
from beistand.core.cards import (
    EXPIRY_WARNING,
    MAX_NAMES,
    Card,
    Link,
    Viewer,
    capped,
    card,
    count,
    date_text,
    links,
)
from beistand.register import access_log, rights, rights_workflow, zks
from beistand.register.models import RightsRequest


@card(50)
def querier_card(viewer: Viewer) -> Card | None:
    if Role.QUERIER not in viewer.roles:
        return None
    now = viewer.now
    grant = (accounts.own_grants(viewer.user).filter(role=Role.QUERIER)
             .order_by("-expires_at").first())
    until = grant.expires_at if grant else None
    warn = until is not None and until - now <= EXPIRY_WARNING
    facts = [("Gültig bis", date_text(until) if until else "unbefristet")]
    if grant is not None:
        facts.append(("Dienstlicher Bedarf", grant.reason))
    text = ["Sie dürfen das Register im Einzelfall abfragen, um sich vor einem Kontakt mit einer "
            "Person zu schützen – z. B. vor einem Hausbesuch. Jede Abfrage wird mit Zweck "
            "protokolliert."]
    if warn:
        text.append("Ihre Berechtigung läuft bald ab. Besteht der Bedarf fort, beantragen Sie "
                    "rechtzeitig eine Verlängerung bei der Administration.")
    return Card(key="querier", title="Ihre Abfrageberechtigung",
                tone="warning" if warn else "",
                status="läuft bald ab" if warn else "aktiv",
                text=text, facts=facts, template="register/start_querier_card.html",
                extra={"lookup_url": reverse("register:lookup")})


@card(70)
def register_card(viewer: Viewer) -> Card | None:
    if Role.ZKS not in viewer.roles:
        return None
    reviews = zks.review_due(viewer.today).count()
    open_requests = RightsRequest.objects.filter(
        state__in=rights_workflow.states(open=True)).order_by("due_on")
    overdue = rights.due_rights_requests().count()
    url = reverse("register:manage")
    if overdue:
        viewer.attend(
            "danger", count(overdue, "Antrag einer betroffenen Person ist", "Anträge betroffener "
                            "Personen sind") + " fällig (Frist nach Art. 12 Abs. 3 DSGVO).",
            Link("Register verwalten", url))
    total = open_requests.count()
    items = capped([f"{r.get_kind_display()}: Frist {r.due_on:%d.%m.%Y}"
                    + (f" (zurückgestellt bis {r.defer_until:%d.%m.%Y})" if r.defer_until else "")
                    for r in open_requests[:MAX_NAMES]], total)
    busy = reviews or total
    return Card(
        key="register", title="Register",
        tone="danger" if overdue else ("warning" if busy else "success"),
        status=f"{overdue} fällig" if overdue else ("zu bearbeiten" if busy else "nichts offen"),
        text=["Prüfaufgaben (weiter speichern oder löschen) und Anträge betroffener Personen "
              "mit ihrer Monatsfrist."],
        facts=[("Fällige Prüfungen", str(reviews)), ("Offene Anträge", str(total))],
        items=items, links=links(("Register verwalten", url)))


@card(80)
def misuse_card(viewer: Viewer) -> Card | None:
    if Role.DPO not in viewer.roles:
        return None
    signals = access_log.misuse_signals(viewer.user, viewer.today)
    return Card(
        key="access_log", title="Zugriffe auf das Register",
        tone="warning" if signals else "success",
        status=count(len(signals), "Auffälligkeit", "Auffälligkeiten") if signals
        else "unauffällig",
        text=["Jede Abfrage im Register steht im Zugriffsprotokoll. Auffällig sind viele "
              "Abfragen einer Person, dieselbe Person von vielen Stellen und Abfragen außerhalb "
              "der Dienstzeit."],
        items=[s.title for s in signals[:MAX_NAMES]],
        links=links(("Zugriffsprotokoll öffnen", reverse("register:access_log"))))
