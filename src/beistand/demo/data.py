"""The fictitious body "Stadt Musterstadt": places and demo accounts.

Units and employees live in ``musterstadt_units.csv`` and ``musterstadt_employees.csv`` (next to
this module, so they ship as package data) and are loaded through
the regular CSV importer, so they double as examples of the import format. Everything here is
invented: addresses, the 12345 postal code, the "555" phone numbers, the musterstadt.example
mail domain (reserved by RFC 2606) and the coordinates (a plausible spot in NRW).
"""

from pathlib import Path

from beistand.accounts.roles import Role

HERE = Path(__file__).resolve().parent
UNITS_CSV = HERE / "musterstadt_units.csv"
EMPLOYEES_CSV = HERE / "musterstadt_employees.csv"

BODY = {"name": "Stadt Musterstadt", "street": "Rathausplatz 1", "postal_code": "12345",
        "city": "Musterstadt"}

# site -> address, coordinates, buildings -> (coordinates, floor levels)
SITES = [
    {
        "name": "Rathaus", "street": "Rathausplatz 1", "postal_code": "12345",
        "city": "Musterstadt", "latitude": "51.265020", "longitude": "7.371480",
        "buildings": [
            ("Altbau", "51.265110", "7.371230", [0, 1, 2]),
            ("Neubau", "51.264870", "7.371890", [0, 1, 2, 3]),
        ],
    },
    {
        "name": "Stadthaus", "street": "Bahnhofstraße 24", "postal_code": "12345",
        "city": "Musterstadt", "latitude": "51.262310", "longitude": "7.379960",
        "buildings": [
            ("Haus A", "51.262400", "7.379700", [0, 1, 2]),
            ("Haus B", "51.262180", "7.380310", [0, 1]),
        ],
    },
    {
        "name": "Feuer- und Rettungswache 1", "street": "Florianweg 5", "postal_code": "12347",
        "city": "Musterstadt", "latitude": "51.272840", "longitude": "7.358190",
        "buildings": [
            ("Wache", "51.272840", "7.358190", [0, 1]),
        ],
    },
]
ROOMS_PER_FLOOR = 12
# Named rooms (site, building, room number) -> name; the rest are plain offices.
ROOM_NAMES = {
    ("Stadthaus", "Haus A", "0.01"): "Bürgerbüro Wartebereich",
    ("Stadthaus", "Haus A", "0.02"): "Bürgerbüro Schalter 1",
    ("Stadthaus", "Haus A", "0.03"): "Bürgerbüro Schalter 2",
    ("Stadthaus", "Haus A", "0.04"): "Bürgerbüro Schalter 3",
    ("Stadthaus", "Haus A", "0.05"): "Bürgerbüro Schalter 4",
    ("Stadthaus", "Haus B", "0.06"): "Besprechungsraum Jugendamt",
    ("Rathaus", "Altbau", "0.01"): "Empfang / Pforte",
    ("Rathaus", "Altbau", "1.12"): "Sozialamt Beratungsraum",
    ("Feuer- und Rettungswache 1", "Wache", "0.12"): "Leitstelle",
}


def room_position(index: int) -> tuple[float, float]:
    """Offices along a corridor: odd numbers on the north side, even ones opposite, 4 m apart."""
    x = 2.0 + 4.0 * ((index - 1) // 2)
    y = 2.0 if index % 2 else 9.0
    return x, y


QUERIER_NEED = ("Hausbesuche im Allgemeinen Sozialen Dienst (51/4): Abfrage vor Erstkontakt und "
                "Hausbesuch zum Schutz der Beschäftigten (Demo)")

# username -> personnel number, granted roles, reason. Supervisor and reporter are derived.
ACCOUNTS = [
    ("melder", "100071", [], "Außendienst Ordnungsamt, meldet Vorfälle"),
    ("vorgesetzte", "100070", [], "Leitung 32/3, Vorgesetzte von melder"),
    ("personal", "100021", [Role.PERSONNEL], "Personalsachbearbeitung Amt 11: Strafanzeigen"),
    ("zks", "100041", [Role.ZKS], "Qualitätssicherung und Veröffentlichung in der ZKS I/3"),
    ("abfrage", "100112", [Role.QUERIER], QUERIER_NEED),
    ("statistik", "100042", [Role.STATISTICS], "Anonymisierte Auswertungen der ZKS I/3"),
    ("dsb", "100046", [Role.DPO], "Behördliche Datenschutzbeauftragte: Kontrolle der Zugriffe"),
    ("sicherheit", "100012", [Role.SECURITY], "Sicherheits- und Empfangsdienst 10/2"),
    ("admin", "100031", [Role.ADMIN], "Fachadministration beistand im Amt 12"),
    ("kollege1", "100072", [], "Kollege von melder, Nachbarraum"),
    ("kollege2", "100073", [], "Kollegin von melder, Nachbarraum"),
    ("kollege3", "100074", [], "Kollege von melder, Nachbarraum"),
    ("kollege4", "100064", [], "Kollegin aus 32/2 auf derselben Etage"),
    ("kollege5", "100065", [], "Kollege aus 32/2 auf derselben Etage"),
]
QUERIER_DAYS = 365
DEMO_PASSWORD = "demo"  # the documented password of the demo accounts

# The silent alarm's plan for the Stadthaus (where melder and the kollegen sit): neighbours,
# then the security service, then the floor, then the building; (tier, kind, timeout seconds).
ALARM_PLAN_SITE = "Stadthaus"
ALARM_PLAN_TIERS = [(1, "neighbours", 20), (2, "security", 30), (3, "floor", 20),
                    (4, "building", 20), (5, "external", 60)]
# The last resort of the demo plan (tier 5): the control room, reached by SMS and e-mail.
ALARM_CONTROL_ROOM = {"external_phone": "+49 221 000110",
                      "external_email": "leitstelle@musterstadt.example"}
