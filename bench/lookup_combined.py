"""Combined-deviation benchmark of the register look-up, generator independent of the matcher.

The register side and the queries come from this file's own name lists and variant rules,
written without looking at ``register/matching.py`` or ``register/name_tables.py`` (no import
of either for generating; the matcher is reached only through the real service
``lookup.lookup_person``). Each variant query carries two or three faults at once:

* names: phonetic respellings (Vogt/Voigt, Seidel/Seydel, Meier/Mayer), two letters swapped
  (Hartung/Hartnug), one letter deleted or mistyped (also in short names), transliterations of
  Turkish, Polish, Arabic and Russian names as other offices write them, given-name equivalents
  in other languages (Jewgeni/Evgeny, Józef/Joseph), particles written together or left out
  (van der Linden / Vanderlinden / Linden), one part of a double name, the birth name instead of
  the current name, first and last name swapped;
* dates: one day off, day and month swapped, one wrong digit, the year one off, no date given;
* the first name or the address left out or given.

The register side has gaps too: no date of birth (25 %), no first name (8 %), no address (30 %),
and contains true namesakes (same names, other or no date) and near-homonyms (one letter off).
10 % of the queries are for persons who are not registered.

Reported (JSON on the last line of stdout), overall and per fault kind:

* recall at each match level: share of variant queries whose person is shown with that level
  or a stronger one ("sicher" ⊂ "wahrscheinlich" ⊂ "möglich" = shown at all);
* precision at each match level: share of the candidates shown with that level or a stronger
  one that are relevant — the intended person, or a person the query cannot tell apart from it
  (every field the candidate has agrees exactly with the intended person's);
* the same split by whether the query gives a date of birth (``by_query_date``; a query with
  a name alone cannot single a person out among namesakes);
* p50/p99 latency of one ``lookup_person`` call.

    .venv/bin/python bench/lookup_combined.py --persons 100000 --lookups 2000
"""

import argparse
import platform
import random
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import add_database_url, check_database_url, log, percentile, run_lookups_in_scratch

# --- Name material (this file's own lists) ----------------------------------------------------

W = str.split

SURNAMES = {
    "de": W("Vogt Voigt Seidel Meier Mayer Maier Schmidt Schmitt Hartung Brandt Krüger Köhler "
            "Lehmann Schäfer Fischer Wagner Becker Hoffmann Zimmermann Neumann Schwarz Richter "
            "Klein Wolf Schröder Hartmann Lange Werner Krause Scholz Kaiser Fuchs Peters Möller "
            "Weiß Jung Hahn Vogel Keller Günther Frank Berger Winkler Lorenz Baumann Albrecht "
            "Böhm Sommer Stein Jäger Graf Ziegler Kuhn Pohl Engel Horn Busch Thiele Reuter "
            "Seifert Kühne Ebert Dietz Pfeiffer Haase Hesse Beyer Bayer Geiger Kunz Stahl "
            "Brenner Rademacher Dreher Kraft Bach Ott Rau Witt Roth Heß Wendt Hein"),
    "tr": W("Yılmaz Kaya Demir Şahin Çelik Yıldız Öztürk Aydın Özdemir Arslan Doğan Kılıç "
            "Çetin Korkmaz Koç Kurt Özkan Şimşek Polat Erdoğan Güler Ünal Aktaş Bozkurt "
            "Karakaya Çiftçi Türkmen Keskin Uçar Taşdemir Gündoğdu Kahraman Durmaz Sönmez"),
    "pl": W("Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
            "Woźniak Dąbrowski Kozłowski Jankowski Mazur Krawczyk Grabowski Nowakowski "
            "Pawłowski Michalski Wróblewski Jabłoński Szczepański Przybylski Górski Czarnecki "
            "Rutkowski Sikora Chmielewski Wawrzyniak Szewczyk Ostrowski"),
    "ar": W("Abu-Khalil Al-Hashimi El-Sayed Abdel-Rahman Haddad Khoury Nasrallah Qureshi "
            "Mansour Shaheen Hamdan Youssef Suleiman Darwish Othman Bakr Jaber Saleh Ghanem "
            "Obeid Hijazi Zaher Qassem Awad Farouk Barakat Al-Zoubi Shukri"),
    "ru": W("Iwanow Smirnow Kusnezow Popow Wassiljew Petrow Sokolow Nowikow Morosow Wolkow "
            "Lebedew Jegorow Kowaljow Orlow Andrejew Makarow Saizew Solowjow Schukow "
            "Tschernow Schewtschenko Tkatschenko Jakowlew Medwedew Schischkin Juschtschenko"),
    "it": W("Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno "
            "Gallo Conti Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri"),
    "yu": W("Jovanović Petrović Nikolić Marković Đorđević Stojanović Ilić Stanković Pavlović "
            "Kovačević Hodžić Begić Mehmedović Popović Živković Tomić Babić Horvat Kovač Šarić"),
    "nl": ["van der Linden", "van den Berg", "de Vries", "van Dijk", "van Leeuwen", "ter Horst",
           "von der Heydt", "von Bülow", "zur Mühlen", "de Jong", "van Beek", "von Hagen",
           "De Luca", "Di Stefano", "De Angelis", "van der Meer"],
}
# Synthetic rare surnames (a real register has hundreds of thousands of distinct ones).
TAIL = {
    "de": (W("Ober Unter Kessel Hage Lüding Wester Oster Sieve Bött Hollen Kamp Rüther Dreyer "
             "Tegel Amel Budden Fehr Gies Harms Jansen Kort Lübbe Nieder Pott Rohl Spiek "
             "Tönnies Uhl Vedder Wiet"),
           W("haus mann kötter brock meyer ing sen kamp ler rich hoff wede kemper dieck "
             "beck horst kotte feld")),
    "tr": (W("Ak Bal Cin Dal Ert Gök Hal Kar Oğuz Sarı Tan Yük Ali Bey Çak Dem"),
           W("soy oğlu taş göz bulut dağ er kan yol gül tekin")),
    "pl": (W("Brzez Chrzan Dziedz Gołęb Kaczm Lis Majew Olsz Przyb Sobcz Trzcin Wilcz Zawadz"),
           W("owski ewski icki czak iak uk yński")),
    "ru": (W("Beljak Gromow Dorof Jerschow Karpow Lukin Markow Nasarow Prochorow Romanow "
             "Sacharow Timofej Uljan Fomin Chochlow"),
           W("ow ew in enko ski")),
}
ORIGIN_SHARE = [("de", 0.40), ("de_tail", 0.22), ("tr", 0.07), ("tr_tail", 0.04), ("pl", 0.05),
                ("pl_tail", 0.03), ("ar", 0.06), ("ru", 0.04), ("ru_tail", 0.02), ("it", 0.03),
                ("yu", 0.025), ("nl", 0.015)]

GIVEN = {
    "de": W("Michael Andreas Stefan Thomas Sabine Jens Monika Petra Matthias Philipp Carsten "
            "Claudia Katharina Christian Frank Uwe Dieter Birgit Heike Klaus Jürgen Ralf "
            "Torsten Anke Silke Martina Jörg Holger Dirk Sven Nils Björn Kerstin Ute"),
    "tr": W("Mehmet Mustafa Ahmet Hüseyin Hasan İbrahim Osman Yusuf Murat Ömer Emre Fatma Ayşe "
            "Zeynep Emine Hatice Elif Özlem Gülşen Şükrü"),
    "pl": W("Wojciech Krzysztof Grzegorz Łukasz Paweł Piotr Józef Andrzej Tomasz Małgorzata "
            "Katarzyna Agnieszka Dariusz Jarosław Zbigniew Bożena"),
    "ar": W("Mohammed Ahmad Khaled Youssef Omar Ibrahim Hussein Tarek Samir Karim Fatima Aisha "
            "Mariam Layla Nour Rania"),
    "ru": W("Jewgeni Sergej Dmitri Juri Nikolai Michail Aleksandr Wladimir Natalja Tatjana "
            "Jekaterina Olga Swetlana Ljudmila Anastasija Wiktor"),
    "it": W("Giuseppe Giovanni Marco Luca Francesco Alessandro Giulia Chiara Francesca Paolo"),
    "yu": W("Đorđe Jovan Nikola Milan Dragan Zoran Ivana Jelena Milica Dejan"),
    "nl": W("Pieter Jan Willem Hendrik Maarten Sanne Anouk Joost Christiaan Friedrich"),
}

# Given names as other offices write them (this file's own table).
GIVEN_VARIANTS = {
    "Yusuf": ["Youssef", "Jussuf", "Yousef", "Yussuf"],
    "Youssef": ["Yusuf", "Jussuf", "Yousef"],
    "Mohammed": ["Muhammad", "Mohamed", "Mohammad", "Muhammed"],
    "Mehmet": ["Mehmed", "Muhammed"],
    "Ahmad": ["Ahmed", "Achmed"], "Ahmet": ["Ahmed", "Achmet"],
    "Aleksandr": ["Alexander", "Aleksander", "Alexandr"],
    "Wojciech": ["Voytek", "Wojtek"],
    "Józef": ["Jozef", "Josef", "Joseph"],
    "Giuseppe": ["Josef", "Joseph"],
    "Dmitri": ["Dmitrij", "Dmitry", "Dimitri"],
    "Sergej": ["Sergei", "Sergey"],
    "Juri": ["Yuri", "Jurij", "Yuriy"],
    "Nikolai": ["Nikolaj", "Nikolay"],
    "Michail": ["Mikhail", "Michael"],
    "Jewgeni": ["Evgeny", "Yevgeni", "Jewgenij", "Evgenij"],
    "Wiktor": ["Viktor", "Victor"],
    "Wladimir": ["Vladimir", "Wladimier"],
    "Natalja": ["Natalia", "Natalya"],
    "Tatjana": ["Tatiana", "Tatyana"],
    "Jekaterina": ["Ekaterina", "Yekaterina"],
    "Swetlana": ["Svetlana"],
    "Ljudmila": ["Lyudmila", "Ludmila"],
    "Anastasija": ["Anastasia", "Anastasiya"],
    "Hüseyin": ["Huseyin", "Hussein", "Hüsein"],
    "Hussein": ["Husain", "Hussain", "Husein"],
    "Mustafa": ["Mustapha", "Moustafa"],
    "Khaled": ["Khalid", "Chaled", "Haled"],
    "Fatma": ["Fatima", "Fadma"], "Fatima": ["Fatma", "Fatimah"],
    "Ayşe": ["Ayse", "Aische", "Aysche"], "Aisha": ["Aischa", "Ayesha"],
    "Zeynep": ["Zeinab", "Zainab"],
    "Krzysztof": ["Christoph", "Kristof"],
    "Grzegorz": ["Gregor"],
    "Łukasz": ["Lukas", "Lucas"],
    "Paweł": ["Pawel", "Paul"],
    "Piotr": ["Peter", "Pjotr"],
    "Đorđe": ["Djordje", "Dordje", "Georg"],
    "Stefan": ["Stephan"], "Christian": ["Kristian"], "Matthias": ["Mathias"],
    "Philipp": ["Filip", "Phillip"], "Carsten": ["Karsten"], "Claudia": ["Klaudia"],
    "Katharina": ["Katarina", "Catharina"], "Tarek": ["Tarik", "Tariq"],
    "Omar": ["Umar", "Ömer"], "Mariam": ["Maryam", "Miriam"], "Layla": ["Leila", "Leyla"],
    "Ibrahim": ["Ebrahim", "İbrahim"], "İbrahim": ["Ibrahim", "Ibrahem"],
    "Jovan": ["Johann", "Iwan"], "Jan": ["Johann", "Jann"], "Pieter": ["Peter", "Piet"],
}

# Phonetic respellings as German clerks produce them (pattern, replacement).
RESPELLINGS = [("oi", "o"), ("o", "oi"), ("ei", "ey"), ("ey", "ei"), ("ei", "ai"), ("ai", "ei"),
               ("ay", "ei"), ("dt", "t"), ("t", "dt"), ("mann", "man"), ("ph", "f"),
               ("f", "ph"), ("ck", "k"), ("k", "ck"), ("tz", "z"), ("z", "tz"), ("th", "t"),
               ("ss", "ß"), ("ß", "ss"), ("ie", "i"), ("c", "k"), ("v", "w"), ("w", "v"),
               ("y", "i"), ("i", "y"), ("ä", "e"), ("ü", "y"), ("eu", "oi"), ("x", "chs"),
               ("chs", "x"), ("dt", "d"), ("ll", "l"), ("l", "ll"), ("rr", "r"), ("nn", "n"),
               ("n", "nn"), ("tt", "t"), ("ff", "f"), ("s", "ss")]

TURKISH_SPELL = {"ş": ["s", "sch", "sh"], "ç": ["c", "tsch", "ch"], "ğ": ["g", "", "gh"],
                 "ı": ["i", "e"], "ö": ["o", "oe"], "ü": ["u", "ue"], "İ": ["I"],
                 "Ş": ["S", "Sch", "Sh"], "Ç": ["C", "Tsch", "Ch"], "Ö": ["O", "Oe"],
                 "Ü": ["U", "Ue"]}
POLISH_SPELL = [("ł", "l"), ("ł", "w"), ("sz", "sch"), ("sz", "sh"), ("cz", "tsch"), ("cz", "ch"),
                ("w", "v"), ("ski", "sky"), ("ń", "n"), ("ś", "s"), ("ó", "o"), ("ą", "a"),
                ("ę", "e"), ("ż", "sch"), ("ż", "z"), ("ź", "z"), ("ć", "c"), ("rz", "sch"),
                ("ch", "h"), ("j", "y")]
ARABIC_SPELL = [("-", ""), ("-", " "), ("ou", "u"), ("u", "ou"), ("y", "j"), ("kh", "ch"),
                ("kh", "h"), ("q", "k"), ("ee", "i"), ("sh", "sch"), ("ei", "ai"), ("j", "dsch"),
                ("Al-", "El-"), ("El-", "Al-"), ("Abdel-", "Abdul "), ("aa", "a"), ("ss", "s"),
                ("dd", "d"), ("z", "s"), ("i", "ee")]
RUSSIAN_SPELL = [("schtsch", "shch"), ("tsch", "ch"), ("sch", "sh"), ("ow", "ov"), ("ew", "ev"),
                 ("jo", "yo"), ("ja", "ya"), ("ju", "yu"), ("je", "ye"), ("w", "v"), ("s", "z"),
                 ("z", "ts"), ("j", "i"), ("ch", "kh"), ("kusnezow", "kuznetsov"),
                 ("saizew", "zaitsev"), ("schukow", "zhukov")]
BALKAN_SPELL = [("ć", "c"), ("ć", "ch"), ("č", "c"), ("č", "tsch"), ("š", "s"), ("š", "sch"),
                ("ž", "z"), ("ž", "sch"), ("đ", "dj"), ("Đ", "Dj"), ("dž", "dsch"), ("j", "y")]

STREETS = W("Hauptstraße Bahnhofstraße Lindenallee Kirchweg Rosenstraße Friedhofstraße "
            "Marktplatz Venloer_Straße Berliner_Straße Am_Anger Schulgasse Feldweg")
POSTAL = [f"{40000 + 37 * i:05d}" for i in range(1500)]


def strip_accents(text):
    text = text.replace("ß", "ss").replace("ı", "i").replace("ł", "l").replace("Ł", "L")
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


def simple(text):
    """This file's own comparison form (for judging relevance, not matching)."""
    return "".join(c for c in strip_accents(text).lower() if c.isalpha())


# --- Register side --------------------------------------------------------------------------

def rand_surname(rng):
    origin = rng.choices([o for o, _ in ORIGIN_SHARE], [w for _, w in ORIGIN_SHARE])[0]
    if origin.endswith("_tail"):
        origin = origin[:-5]
        heads, tails = TAIL[origin]
        return origin, rng.choice(heads) + rng.choice(tails)
    names = SURNAMES[origin]
    # Frequent names first: rank-weighted (Zipf-like) choice.
    return origin, rng.choices(names, [1 / (i + 1) ** 0.7 for i in range(len(names))])[0]


def rand_given(rng, origin):
    names = GIVEN[origin if origin in GIVEN else "de"]
    return rng.choices(names, [1 / (i + 1) ** 0.5 for i in range(len(names))])[0]


def rand_dob(rng):
    return date(1945, 1, 1) + timedelta(days=rng.randrange(60 * 365))


def one_letter_off(rng, name):
    i = rng.randrange(1, len(name))
    return name[:i] + rng.choice("aeiklmnrst") + name[i + 1:]


def make_factory(seed):
    """make(rng) -> (last, first, birth, aliases, dob, address, origin); namesakes and
    near-homonyms of earlier persons are mixed in."""
    made = []

    def make(rng):
        origin, last = rand_surname(rng)
        first = rand_given(rng, origin)
        roll = rng.random()
        if made and roll < 0.04:  # true namesake: same names, another or no date
            prev = made[rng.randrange(len(made))]
            origin, last, first = prev[6], prev[0], prev[1] or first
        elif made and roll < 0.06:  # near-homonym: one letter off in the surname
            prev = made[rng.randrange(len(made))]
            origin, last, first = prev[6], one_letter_off(rng, prev[0]), prev[1] or first
        if rng.random() < 0.06:
            last = f"{last}-{rand_surname(rng)[1]}"
        if rng.random() < 0.15:
            first = f"{first} {rand_given(rng, origin)}"
        birth = rand_surname(rng)[1] if rng.random() < 0.08 else ""
        dob = None if rng.random() < 0.25 else rand_dob(rng)
        if rng.random() < 0.08:
            first = ""
        address = None
        if rng.random() < 0.7:
            address = (rng.choice(STREETS).replace("_", " "), str(rng.randrange(1, 90)),
                       rng.choice(POSTAL))
        ident = (last, first, birth, [], dob, address, origin)
        made.append(ident)
        return ident

    return make


# --- Faults ---------------------------------------------------------------------------------

def respell(rng, name):
    low = name.lower()
    options = [(a, b) for a, b in RESPELLINGS if a in low[1:]]
    if not options:
        return None
    a, b = rng.choice(options)
    starts = [i for i in range(1, len(low)) if low.startswith(a, i)]
    i = rng.choice(starts)
    return name[:i] + b + name[i + len(a):]


def transpose(rng, name):
    spots = [i for i in range(1, len(name) - 1) if name[i] != name[i + 1]
             and name[i].isalpha() and name[i + 1].isalpha()]
    if not spots:
        return None
    i = rng.choice(spots)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


def delete_letter(rng, name):
    spots = [i for i in range(1, len(name)) if name[i].isalpha()]
    if len(spots) < 3:
        return None
    i = rng.choice(spots)
    return name[:i] + name[i + 1:]


KEYBOARD = {"a": "sq", "e": "wr", "i": "uo", "o": "ip", "u": "zi", "n": "bm", "m": "n",
            "r": "et", "t": "rz", "s": "ad", "l": "k", "k": "lj", "h": "gj", "d": "sf",
            "g": "fh", "b": "vn", "c": "xv", "z": "tu", "w": "qe", "f": "dg", "p": "o"}


def substitute(rng, name):
    spots = [i for i in range(1, len(name)) if name[i].lower() in KEYBOARD]
    if not spots:
        return None
    i = rng.choice(spots)
    return name[:i] + rng.choice(KEYBOARD[name[i].lower()]) + name[i + 1:]


def _apply_rules(rng, name, rules, times):
    out = name
    for _ in range(times):
        options = [(a, b) for a, b in rules if a in out or a in out.lower()]
        if not options:
            break
        a, b = rng.choice(options)
        if a in out:
            out = out.replace(a, b, 1)
        else:
            low = out.lower()
            i = low.index(a)
            repl = b.capitalize() if i == 0 else b
            out = out[:i] + repl + out[i + len(a):]
    return out


def transliterate(rng, name, origin):
    """The name as another office wrote it down (origin-specific, one to three changes)."""
    if origin == "tr":
        out = "".join(rng.choice(TURKISH_SPELL[c]) if c in TURKISH_SPELL else c for c in name)
    elif origin == "pl":
        out = _apply_rules(rng, name, POLISH_SPELL, rng.randint(1, 3))
        out = strip_accents(out)
    elif origin == "ar":
        out = _apply_rules(rng, name, ARABIC_SPELL, rng.randint(1, 3))
    elif origin == "ru":
        out = _apply_rules(rng, name, RUSSIAN_SPELL, rng.randint(2, 4))
    elif origin == "yu":
        out = _apply_rules(rng, name, BALKAN_SPELL, rng.randint(1, 3))
        out = strip_accents(out)
    else:
        out = strip_accents(name)
        if out == name:
            out = name.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    out = out.strip()
    return out[:1].upper() + out[1:] if out and out != name else None


def particle_form(rng, name):
    parts = name.split()
    if len(parts) < 2:
        return None
    choice = rng.randrange(3)
    if choice == 0:
        return "".join(parts).capitalize()
    if choice == 1:
        return parts[-1]
    return "".join(p.capitalize() for p in parts)


NAME_FAULTS = ["respell", "transpose", "delete", "substitute", "translit", "given_variant",
               "particle", "birth_name", "swap", "double_part"]
DATE_FAULTS = ["dob_day_off", "dob_swapped", "dob_digit", "dob_year_off", "dob_omitted"]
OTHER_FAULTS = ["first_omitted", "address_given"]
FAULTS = frozenset({*NAME_FAULTS, *DATE_FAULTS, *OTHER_FAULTS})


def date_fault(rng, dob, kind):
    if kind == "dob_day_off":
        return dob + timedelta(days=rng.choice((-1, 1)))
    if kind == "dob_swapped":
        if dob.day > 12 or dob.day == dob.month:
            return None
        return date(dob.year, dob.day, dob.month)
    if kind == "dob_year_off":
        try:
            return dob.replace(year=dob.year + rng.choice((-1, 1)))
        except ValueError:
            return None
    if kind == "dob_digit":
        text = dob.strftime("%Y%m%d")
        for _ in range(40):
            pos = rng.choice((2, 3, 5, 6, 7))
            cand = text[:pos] + str(rng.randrange(10)) + text[pos + 1:]
            if cand == text:
                continue
            try:
                return date(int(cand[:4]), int(cand[4:6]), int(cand[6:8]))
            except ValueError:
                continue
    return None


def apply_fault(rng, q, ident, kind):
    """Apply one fault to the query dict in place; False if it does not apply to this person."""
    last, _, birth, _, dob, address, origin = ident
    if kind in ("respell", "transpose", "delete", "substitute"):
        fn = {"respell": respell, "transpose": transpose, "delete": delete_letter,
              "substitute": substitute}[kind]
        target = "first_name" if q.get("first_name") and rng.random() < 0.3 else "last_name"
        out = fn(rng, q[target])
        if not out or simple(out) == simple(q[target]):
            return False
        q[target] = out
        return True
    if kind == "translit":
        out = transliterate(rng, q["last_name"], origin)
        if not out or out == q["last_name"]:
            return False
        q["last_name"] = out
        if q.get("first_name") and rng.random() < 0.5:
            first_out = transliterate(rng, q["first_name"], origin)
            if first_out:
                q["first_name"] = first_out
        return True
    if kind == "given_variant":
        head = (q.get("first_name") or "").split(" ")[0]
        if head not in GIVEN_VARIANTS:
            return False
        q["first_name"] = rng.choice(GIVEN_VARIANTS[head])
        return True
    if kind == "particle":
        out = particle_form(rng, q["last_name"])
        if not out:
            return False
        q["last_name"] = out
        return True
    if kind == "birth_name":
        if not birth or q["last_name"] != last:
            return False
        q["last_name"] = birth
        return True
    if kind == "swap":
        if not q.get("first_name"):
            return False
        q["last_name"], q["first_name"] = q["first_name"], q["last_name"]
        return True
    if kind == "double_part":
        parts = q["last_name"].split("-")
        if len(parts) < 2:
            return False
        q["last_name"] = rng.choice(parts)
        return True
    if kind in DATE_FAULTS:
        if dob is None or q.get("date_of_birth") != dob:
            return False
        if kind == "dob_omitted":
            q.pop("date_of_birth")
            return True
        wrong = date_fault(rng, dob, kind)
        if wrong is None or wrong == dob or wrong.year < 1900 or wrong > date.today():
            return False
        q["date_of_birth"] = wrong
        return True
    if kind == "first_omitted":
        if not q.get("first_name"):
            return False
        q.pop("first_name")
        return True
    if kind == "address_given":
        if address is None:
            return False
        q["street"] = address[0].replace("straße", "str.").replace("Straße", "Str.")
        q["postal_code"] = address[2]
        return True
    raise ValueError(kind)


def variant_query(rng, ident):
    """A query for the person with two or three faults at once, and the faults applied."""
    last, first, _, _, dob, _, _ = ident
    for _ in range(30):
        q = {"last_name": last}
        # The querier's file usually has the first given name and a date of birth even when the
        # register does not (a querier who knows more must never find less).
        q["first_name"] = (first.split(" ")[0] if first else rand_given(rng, ident[6]))
        truth_first = bool(first)
        q["date_of_birth"] = dob if dob is not None else rand_dob(rng)
        wanted = rng.choice((2, 2, 3))
        faults = []
        kinds = [*NAME_FAULTS, *NAME_FAULTS, *DATE_FAULTS, *OTHER_FAULTS]
        while len(faults) < wanted:
            kind = rng.choice(kinds)
            if kind in faults or (kind in DATE_FAULTS and any(f in DATE_FAULTS for f in faults)):
                continue
            # Swapped names with the first name left out leave no surname at all.
            if {kind, *faults} >= {"swap", "first_omitted"}:
                continue
            if apply_fault(rng, q, ident, kind):
                faults.append(kind)
            elif rng.random() < 0.2:
                break
        if len(faults) < 2:
            continue
        if not (q.get("first_name") or q.get("date_of_birth") or q.get("postal_code")):
            continue
        if sum(c.isalpha() for c in q["last_name"]) < 2:
            continue
        if not truth_first and "first_name" in q:
            faults.append("reg_no_first")
        if dob is None and "date_of_birth" in q:
            faults.append("reg_no_dob")
        return faults, q
    return None, None


def compatible(ident, intended):
    """Can no query tell ``ident`` apart from ``intended``? Every field ``ident`` has agrees
    exactly (this file's own normal form) with the intended person's; missing fields agree."""
    if ident is intended:
        return True
    if simple(ident[0]) != simple(intended[0]):
        return False
    if ident[1] and intended[1] and simple(ident[1].split()[0]) != simple(intended[1].split()[0]):
        return False
    return not (ident[4] and intended[4] and ident[4] != intended[4])


# --- Run ------------------------------------------------------------------------------------

LEVELS = ("sicher", "wahrscheinlich", "möglich")


def run(args):
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from beistand.accounts.models import RoleGrant
    from beistand.accounts.roles import Role
    from beistand.register import lookup

    build = __import__("lookup").build  # bench/lookup.py (not the register's module)

    call_command("migrate", verbosity=0, interactive=False)
    log(f"database: {connection.vendor}; building {args.persons} persons ...")
    identities, build_seconds = build(args.persons, args.seed, make=make_factory(args.seed))
    with transaction.atomic():
        user = get_user_model().objects.create_user("bench-kombi", password=None)
        RoleGrant.objects.create(user=user, role=Role.QUERIER, reason="Benchmark",
                                 expires_at=timezone.now() + timedelta(days=1))
    by_name = defaultdict(list)
    for pid, ident in enumerate(identities, 1):
        by_name[simple(ident[0])].append(pid)

    rng = random.Random(args.seed + 11)
    warm = random.Random(args.seed + 12)
    for _ in range(args.warmup):
        ident = identities[warm.randrange(len(identities))]
        lookup.lookup_person(user, "Benchmark Aufwärmen", ident[0], ident[1] or "Anna",
                             ident[4])
    stranger = make_factory(args.seed + 13)
    latencies = []
    level_rank = {lvl: i for i, lvl in enumerate(LEVELS)}
    found = Counter()     # level -> variant queries whose person is shown at that level or above
    shown = Counter()     # level -> candidates shown at that level or above
    relevant = Counter()  # level -> of those, relevant
    per_fault = defaultdict(lambda: [0, 0])  # fault -> [queries, found at all]
    variants = unrelated = unrelated_shown = 0
    asked = Counter()  # variant queries with / without a date of birth
    misses, wrong = [], []
    log(f"running {args.lookups} look-ups ...")
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    for i in range(args.lookups):
        if i % 10 == 9:
            ident = stranger(rng)
            faults, query, intended = ["unrelated"], {
                "last_name": ident[0], "first_name": ident[1].split(" ")[0] or "Anna",
                **({"date_of_birth": ident[4]} if ident[4] else {})}, None
            if not ident[4] and not ident[1]:
                query["date_of_birth"] = rand_dob(rng)
        else:
            intended = rng.randrange(1, len(identities) + 1)
            ident = identities[intended - 1]
            faults, query = variant_query(rng, ident)
            if query is None:
                continue
        t = time.perf_counter()
        result = lookup.lookup_person(user, "Benchmark Az. 2/2026", **query)
        latencies.append(time.perf_counter() - t)
        cards = result["candidates"]
        truth = ident if intended is None else identities[intended - 1]
        if intended is None:
            unrelated += 1
            unrelated_shown += len(cards)
        else:
            variants += 1
        best_level = None
        split = "with_date" if query.get("date_of_birth") else "without_date"
        for card in cards:
            level = card.get("level") or _level(card["score"])
            pid = card["entry_id"]
            good = pid == intended or compatible(identities[pid - 1], truth)
            for lvl in LEVELS[level_rank[level]:]:
                shown[lvl] += 1
                relevant[lvl] += good
            shown[split] += 1
            relevant[split] += good
            if pid == intended:
                best_level = level
        if intended is not None:
            asked[split] += 1
            found[split] += best_level is not None
            if best_level is not None:
                for lvl in LEVELS[level_rank[best_level]:]:
                    found[lvl] += 1
            for fault in [*faults, f"{sum(f in FAULTS for f in faults)}_faults"]:
                per_fault[fault][0] += 1
                per_fault[fault][1] += best_level is not None
            if best_level is None and len(misses) < args.show_misses:
                misses.append((faults, {k: str(v) for k, v in query.items()},
                               f"{truth[0]}, {truth[1]}, {truth[4]}", diagnose(query, intended)))
        if args.show_wrong and len(wrong) < args.show_wrong:
            for card in cards:
                pid = card["entry_id"]
                if pid != intended and not compatible(identities[pid - 1], truth):
                    other = identities[pid - 1]
                    wrong.append((faults, {k: str(v) for k, v in query.items()},
                                  f"{other[0]}, {other[1]}, {other[4]}", card["score"],
                                  [m["how"] for m in card["match"]]))
        if (i + 1) % 500 == 0:
            log(f"  {i + 1} look-ups")
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    for m in misses:
        log(f"  missed {m}")
    for m in wrong:
        log(f"  wrong {m}")
    latencies.sort()
    return {
        "persons": args.persons,
        "variant_lookups": variants,
        "unrelated_lookups": unrelated,
        "recall": {lvl: round(found[lvl] / variants, 4) for lvl in LEVELS},
        "precision": {lvl: round(relevant[lvl] / shown[lvl], 4) if shown[lvl] else None
                      for lvl in LEVELS},
        "by_query_date": {split: {
            "lookups": asked[split],
            "recall": round(found[split] / asked[split], 4) if asked[split] else None,
            "precision": round(relevant[split] / shown[split], 4) if shown[split] else None}
            for split in ("with_date", "without_date")},
        "recall_by_fault": {f: round(n_found / n, 4)
                            for f, (n, n_found) in sorted(per_fault.items())},
        "lookups_by_fault": {f: n for f, (n, _) in sorted(per_fault.items())},
        "unrelated_candidates_per_lookup": round(unrelated_shown / unrelated, 3)
        if unrelated else None,
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "database": connection.vendor,
        "build_seconds": round(build_seconds, 1),
        "python": platform.python_version(),
    }


def diagnose(query, intended):
    """For a missed person: was it among the key-probe candidates, and how did it weigh?"""
    from beistand.register import lookup, matching
    from beistand.register.models import RegisterPerson

    q = matching.Query(query["last_name"], query.get("first_name", ""),
                       query.get("date_of_birth"), query.get("street", ""), "",
                       query.get("postal_code", ""))
    freq = lookup.frequencies(q)
    ids = lookup.candidate_ids(matching.query_keys(q, lookup.frequent_forms(freq)))
    person = RegisterPerson.objects.get(pk=intended)
    a = matching.assess(q, matching.identity_of(person), freq)
    return ("retrieved" if intended in ids else "not retrieved", len(ids),
            round(a.weight, 1), [m["how"] for m in a.match])


def _level(score):
    from beistand.register.matching import match_level

    return match_level(score)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--show-misses", type=int, default=0,
                        help="log this many missed queries (stderr)")
    parser.add_argument("--profile", action="store_true", help="cProfile to stderr")
    parser.add_argument("--show-wrong", type=int, default=0,
                        help="log this many shown candidates that are not relevant (stderr)")
    add_database_url(parser)
    args = parser.parse_args(argv)
    if args.persons < 10 or args.lookups < 1:
        parser.error("--persons must be at least 10 and --lookups positive")
    check_database_url(parser, args)
    return args


def main(argv=None):
    run_lookups_in_scratch(parse_args(argv), run)


if __name__ == "__main__":
    main()
