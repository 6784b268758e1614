"""The statistics start page card (see ``beistand.core.cards``): the key figures for the
statistics role, with the same small-number protection as the dashboard."""

from django.urls import reverse

from beistand.accounts.roles import Role
from beistand.core.cards import Card, Viewer, card, links
from beistand.stats import tables
from beistand.stats.filters import parse_filters


@card(110)
def statistics_card(viewer: Viewer) -> Card | None:
    if Role.STATISTICS not in viewer.roles:
        return None
    figures = tables.key_figures(parse_filters({}))
    return Card(
        key="statistics", title="Statistik",
        text=["Anonymisierte Auswertungen der Vorfälle nach Zeitraum, Gefährdungsstufe, "
              "Organisationseinheit, Standort und Delikt – ohne Namen und Schilderungen. "
              "Kleine Zahlen werden zurückgehalten."],
        facts=[("Vorfälle der letzten drei Kalenderjahre", str(figures["incidents"])),
               ("davon Gefährdungsstufe 2 oder 3", str(figures["level_2_plus"]))],
        links=links(("Statistik öffnen", reverse("stats:dashboard")),
                    ("Jahresbericht", reverse("stats:dashboard") + "#h-annual")))
