"""A small cast of users like the demo's, on top of the shared ``org`` fixture."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from beistand.accounts.roles import Role

# username: (first name, last name, roles, unit key, room index or None)
CAST = {
    "vorgesetzte": ("Vera", "Vogt", [], "abt", 0),
    "melder": ("Max", "Melder", [], "abt", 1),
    "kollege1": ("Kim", "Krause", [], "abt", 2),
    "kollege2": ("Lea", "Lorenz", [], "abt", 3),
    "admin": ("Alexandra", "Adler", [Role.ADMIN], "amt11", 4),
    "dsb": ("Dana", "Schubert", [Role.DPO], "dez", None),
    "abfrage": ("Aylin", "Brandt", [Role.QUERIER], "abt", None),
    "personal": ("Paul", "Peters", [Role.PERSONNEL], "amt11", None),
    "zks": ("Zoe", "Kaiser", [Role.ZKS], "zks", None),
    "statistik": ("Stefan", "Stein", [Role.STATISTICS], "zks", None),
    "sicherheit": ("Sami", "Sander", [Role.SECURITY], "dez", None),
}


def make_people(org, make_user, querier_days: int = 10) -> dict:
    """Create the cast; the querier's grant ends in ``querier_days`` days."""
    people = {}
    for username, (first, last, roles, unit_key, room_index) in CAST.items():
        unit = org[unit_key]
        room = org["rooms"][room_index] if room_index is not None else None
        expires = (timezone.now() + timedelta(days=querier_days)
                   if Role.QUERIER in roles else None)
        user = make_user(username, roles=roles, unit=unit, room=room, expires_at=expires,
                         head_of=org["abt"] if username == "vorgesetzte" else None)
        with transaction.atomic():
            employee = user.employee
            employee.first_name, employee.last_name = first, last
            employee.mobile_phone = "+49 170 0000000" if username == "melder" else ""
            employee.save()
            user.first_name, user.last_name = first, last
            user.save()
        people[username] = user
    return people
