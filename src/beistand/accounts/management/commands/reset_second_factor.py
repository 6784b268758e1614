"""``beistand reset-second-factor USERNAME``: remove a user's authenticator (lost phone)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from beistand.accounts import services


class Command(BaseCommand):
    help = ("Entfernt die Zwei-Faktor-Geräte eines Kontos (z. B. nach Verlust des Telefons); "
            "bei der nächsten Anmeldung wird neu eingerichtet. Wird protokolliert.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Benutzer „{username}“ gibt es nicht.")
        count = services.reset_second_factor(None, user)
        self.stdout.write(f"{count} Zwei-Faktor-Gerät(e) von {username} entfernt.")
