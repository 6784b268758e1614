"""``beistand grant-role USERNAME ROLE --reason …``: grant a role from the command line.

This is how a fresh installation gets its first administrator; afterwards administrators grant
roles on the page /konto/verwaltung/rollen/. The grant is audited (actor: system).
"""

from datetime import datetime, time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from beistand.accounts import services
from beistand.accounts.roles import GRANTABLE_ROLES
from beistand.core.errors import InvalidInput


class Command(BaseCommand):
    help = ("Vergibt eine Rolle an ein Benutzerkonto (z. B. die erste Administration). "
            "Rollen: " + ", ".join(r.value for r in GRANTABLE_ROLES))

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[r.value for r in GRANTABLE_ROLES])
        parser.add_argument("--reason", required=True, help="dienstlicher Bedarf (Pflicht)")
        parser.add_argument("--until", help="gültig bis einschließlich (JJJJ-MM-TT)")

    def handle(self, *args, username, role, reason, until=None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Benutzer „{username}“ gibt es nicht.")
        expires_at = None
        if until:
            try:
                day = datetime.strptime(until, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError("--until: bitte ein Datum im Format JJJJ-MM-TT.") from None
            expires_at = timezone.make_aware(datetime.combine(day, time(23, 59, 59)))
        try:
            grant = services.grant_role_by_operator(user, role, reason, expires_at)
        except InvalidInput as error:
            raise CommandError(error.detail) from None
        self.stdout.write(f"{username} hat jetzt die Rolle „{grant.get_role_display()}“.")
