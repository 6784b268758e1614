"""``beistand reset-second-factor USERNAME --as ADMIN``: remove a user's authenticator (lost
phone).

The acting administrator names themselves (``--as``) and proves it with password and second
factor (``accounts.console``); nobody resets their own second factor. For a person with a
privileged role a second person (``--with``: another administrator or the DPO) proves it too.
The one exception: the last active administrator's own authenticator, when no other
administrator exists who could act (audited as "system", like the bootstrap of
``grant-role``)."""

from django.core.management.base import BaseCommand, CommandError

from beistand.accounts import console, services
from beistand.accounts.roles import Role
from beistand.core.errors import DomainError


class Command(BaseCommand):
    help = ("Entfernt die Zwei-Faktor-Geräte eines Kontos (z. B. nach Verlust des Telefons); "
            "bei der nächsten Anmeldung wird neu eingerichtet. Wer handelt, nennt sich mit --as "
            "(Passwort und Zwei-Faktor-Code). Wird protokolliert.")
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("username")
        console.add_acting_arguments(parser, actor_required=False)

    def handle(self, *args, username, actor=None, second=None, **options):
        user = console.account(username)
        if actor is None:
            if not (services.has_role(user, Role.ADMIN) and services.only_active_admin(user)):
                console.acting_person(None)  # explains --as
            person = None  # the last administrator's own lost phone
        else:
            if actor.lower() == username.lower():
                raise CommandError("Niemand setzt den eigenen zweiten Faktor zurück. Bitte "
                                   "wenden Sie sich an eine andere Administratorin oder einen "
                                   "anderen Administrator.")
            person = console.acting_person(actor, options.get("stdin"))
        confirmer = (console.acting_person(second, options.get("stdin"), option="--with")
                     if second and actor is not None else None)
        try:
            count = services.reset_second_factor(person, user, second=confirmer)
        except DomainError as error:
            raise CommandError(error.detail) from None
        self.stdout.write(f"{count} Zwei-Faktor-Gerät(e) von {username} entfernt.")
