"""Name data for the matcher: given-name equivalents and transliteration rules.

Data, not code: a body adds a line here (or a group) without touching the comparison logic in
``matching``. Every spelling is written as the matcher normalises it (lower case, no
diacritics, ``ü`` as ``ue`` and as ``u`` both handled by the caller), so "Łukasz" is "lukasz".

``GIVEN_NAME_GROUPS``: each tuple is one name in its national forms, transliterations and
common short forms. Two given names in one group agree at the level "Namensvariante" (not
"exakt"). A name may be in more than one group.

``TRANSLITERATION``: ordered rewrite rules that map the spellings of one sound in German,
English, Polish, Turkish and the usual romanisations of Arabic and Cyrillic to one skeleton
("Schewtschenko" and "Shevchenko" both become "shevhenko"; "Youssef" and "Jussef" "iusef").
Two names with the same skeleton agree at the level "Umschrift".
"""

GIVEN_NAME_GROUPS: tuple[tuple[str, ...], ...] = (
    # Arabic / Turkish / Bosnian
    ("yusuf", "youssef", "yousef", "yousif", "youssouf", "jussuf", "jusuf", "yussuf"),
    ("mohammed", "muhammad", "mohamed", "mohammad", "mohamad", "muhammed", "mehmet", "mehmed",
     "muhamed", "mahomet"),
    ("ahmed", "ahmad", "ahmet", "achmed"),
    ("hussein", "husein", "huseyin", "hussain", "husain"),
    ("hassan", "hasan"),
    ("ibrahim", "ebrahim", "ibragim"),
    ("ismail", "ismael", "ismajl", "smail"),
    ("omar", "umar", "oemer", "omer"),
    ("mustafa", "mustapha", "moustafa", "mostafa"),
    ("khaled", "khalid", "halid", "chalid", "haled"),
    ("tarek", "tarik", "tariq", "tarec"),
    ("karim", "kerim", "kareem"),
    ("samir", "semir", "sameer"),
    ("hamza", "hamsa", "hamzah"),
    ("bilal", "bilel"),
    ("fatma", "fatima", "fatime", "fatemeh"),
    ("aisha", "ayse", "aische", "aischa", "aysha"),
    ("mariam", "maryam", "meryem", "miriam", "mirjam"),
    ("layla", "leila", "leyla", "laila", "lejla"),
    ("nour", "nur", "noor"),
    ("yasmin", "jasmin", "yasemin", "jasmina", "yasmina"),
    ("zeynep", "zainab", "zeinab", "zaynab"),
    ("hatice", "hadice", "khadija", "hadija", "khadidja", "chadidscha"),
    ("emine", "amina", "amine"),
    # Slavic / Russian / Ukrainian / Polish / Czech
    ("aleksandr", "alexander", "aleksander", "oleksandr", "alexandr", "alexandre",
     "alessandro", "aleksandar"),
    ("wojciech", "voytek", "wojtek", "vojtech", "vojtek"),
    ("sergej", "sergei", "sergey", "serhij", "serhiy", "sergiusz", "sergio"),
    ("dmitrij", "dmitri", "dmitry", "dimitri", "dmytro", "dimitrij", "dimitrios"),
    ("juri", "yuri", "jurij", "yuriy", "iurii", "yury"),
    ("iwan", "ivan", "jovan"),
    ("nikolaj", "nikolai", "nikolay", "mykola", "mikolaj", "nikola", "nikolaus", "nicolai"),
    ("andrej", "andrei", "andrey", "andrii", "andriy", "andrzej", "andreas", "andrija"),
    ("michail", "mikhail", "michal", "michael", "mihail", "mikail", "mihajlo", "michel"),
    ("pjotr", "pyotr", "piotr", "petr", "peter", "pietro", "petar", "petro"),
    ("grzegorz", "gregor", "gregory", "grigori", "grigorij", "grigoriy", "hryhorij"),
    ("tomasz", "thomas", "tomas", "tamas", "tomislav"),
    ("pawel", "pavel", "paul", "pavlo", "paolo", "pablo"),
    ("krzysztof", "christoph", "christof", "kristof", "krystof", "christopher"),
    ("lukasz", "lukas", "lucas", "luka", "luca"),
    ("jakub", "jakob", "jacob", "yakov", "jakow", "jakov", "giacomo"),
    ("stanislaw", "stanislav", "stanislaus"),
    ("wladimir", "vladimir", "wlodzimierz", "volodymyr", "wolodymyr"),
    ("josef", "joseph", "jozef", "giuseppe", "iosif", "osip", "jose"),
    ("georg", "george", "jerzy", "jiri", "giorgio", "georgios", "georgij", "georgi"),
    ("johannes", "johann", "hans", "jan", "johan"),
    ("olga", "olha"),
    ("tatjana", "tatiana", "tatyana", "tetiana", "tetjana"),
    ("natalja", "natalia", "natalya", "natalie", "nataliya", "natalija"),
    ("swetlana", "svetlana", "svitlana"),
    ("irina", "iryna", "irena"),
    ("ljudmila", "lyudmila", "ludmila", "ludmilla"),
    ("walentina", "valentina", "valentyna"),
    ("anastasia", "anastasija", "anastasiya"),
    ("jelena", "elena", "yelena", "helena", "olena", "jelina"),
    ("jekaterina", "ekaterina", "yekaterina", "katharina", "katarzyna", "katarina",
     "caterina", "kateryna"),
    ("malgorzata", "margarete", "margareta", "margarita", "margret"),
    ("agnieszka", "agnes", "agneta"),
    ("elzbieta", "elisabeth", "elizabeth", "elisabetta", "jelisaweta", "yelizaveta"),
)

TRANSLITERATION: tuple[tuple[str, str], ...] = (
    # longest first; applied in this order to the whole normalised name
    ("tsch", "ch"), ("dsch", "j"), ("dzh", "j"), ("dz", "j"), ("dj", "j"), ("zh", "j"),
    ("sch", "sh"), ("sz", "sh"), ("cz", "ch"), ("tch", "ch"), ("kh", "h"), ("ch", "h"),
    ("ph", "f"), ("th", "t"), ("dt", "t"), ("ck", "k"), ("ks", "x"), ("tz", "z"),
    ("ou", "u"), ("oo", "u"), ("ee", "i"), ("ie", "i"), ("ij", "i"), ("iy", "i"),
    ("ey", "ei"), ("ay", "ei"), ("ai", "ei"),
    ("w", "v"), ("y", "i"), ("j", "i"), ("q", "k"), ("c", "k"), ("z", "s"),
)
