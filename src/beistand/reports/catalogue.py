"""Seed data: the offence catalogue (Aachener Modell, Cologne's mapping) and help offers.

Loaded by a data migration; afterwards the administrator edits the catalogue as data.
"""

# code, German label, hazard level, attack (zero tolerance: always to the police)
OFFENCES = [
    ("controversy", "Kontroverses Gespräch ohne Grenzüberschreitung", 0, False),
    ("insult", "Beleidigung", 1, True),
    ("harassment", "Belästigung, Distanzlosigkeit", 1, True),
    ("verbal_aggression", "Verbale Aggression, Beschimpfung", 1, True),
    ("property_damage", "Sachbeschädigung", 2, True),
    ("physical_violence", "Körperliche Gewalt", 2, True),
    ("threat", "Bedrohung", 2, True),
    ("coercion", "Nötigung", 2, True),
    ("sexual_harassment", "Sexuelle Belästigung", 2, True),
    ("weapon", "Angriff mit Waffe oder gefährlichem Werkzeug", 3, True),
    ("bomb_threat", "Bombendrohung", 3, True),
    ("rampage", "Amoklage", 3, True),
    ("hostage_robbery", "Geiselnahme, Raub", 3, True),
]

# code, German label, responsible unit code, description
HELP_OFFERS = [
    ("legal_protection", "Rechtsschutz durch den Dienstherrn", "11",
     "Unterstützung bei zivil- und strafrechtlichen Schritten."),
    ("special_leave", "Sonderurlaub / Dienstbefreiung", "11",
     "Freistellung nach einem belastenden Vorfall."),
    ("transfer", "Umsetzung / anderer Arbeitsplatz", "11",
     "Vorübergehender oder dauerhafter Wechsel des Arbeitsplatzes."),
    ("registry_block", "Auskunftssperre im Melderegister (§ 51 BMG)", "11",
     "Hilfe beim Antrag, damit Ihre Wohnanschrift nicht herausgegeben wird (2 Jahre, "
     "verlängerbar)."),
    ("psychosocial", "Psychosoziale Unterstützung", "I/2",
     "Gespräch mit der betrieblichen Sozialberatung, Vermittlung weiterer Hilfe."),
    ("debriefing", "Nachsorge / Einsatznachbesprechung", "I/2",
     "Strukturierte Nachbesprechung im Team nach dem Vorfall."),
    ("security_advice", "Sicherheitsberatung", "I/3",
     "Beratung zu Verhalten, Gesprächsführung und Arbeitsplatzgestaltung."),
    ("protective_equipment", "Schutzausrüstung", "I/3",
     "z. B. mobiler Alarm, Schutzweste, Pfefferspray-Schulung."),
    ("building_measures", "Bauliche Maßnahmen", "I/3",
     "z. B. zweiter Fluchtweg, Sicherheitsglas, Alarmtaster."),
]
