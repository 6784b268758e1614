"""``beistand set-password USERNAME --as ADMIN``: an administrator sets another person's
password (forgotten). The acting administrator proves it with password and second factor
(``accounts.console``); for a person with a privileged role a second person (``--with``,
another administrator or the DPO) proves it too; the new password is asked twice (no echo; on
a pipe, the next two lines). Django's ``changepassword`` is refused by ``beistand`` (it names
nobody)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from beistand.accounts import console, services
from beistand.core.errors import DomainError


class Command(BaseCommand):
    help = ("Setzt das Passwort eines anderen Kontos (vergessenes Passwort). Wer handelt, nennt "
            "sich mit --as (Passwort und Zwei-Faktor-Code). Tokens der Person werden widerrufen. "
            "Wird protokolliert.")
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("username")
        console.add_acting_arguments(parser, actor_required=True)

    def handle(self, *args, username, actor, second=None, **options):
        user = console.account(username)
        stdin = options.get("stdin")
        person = console.acting_person(actor, stdin)
        confirmer = console.acting_person(second, stdin, option="--with") if second else None
        stream = stdin or sys.stdin
        first = console.ask(stream, f"Neues Passwort für {username}: ")
        repeated = console.ask(stream, "Neues Passwort wiederholen: ")
        if first != repeated:
            raise CommandError("Die beiden Eingaben stimmen nicht überein.")
        try:
            services.set_password_for(person, user, first, second=confirmer)
        except DomainError as error:
            raise CommandError(error.detail) from None
        self.stdout.write(f"Das Passwort von {username} ist gesetzt; ihre/seine Tokens sind "
                          "widerrufen.")
