"""``beistand grant-role USERNAME ROLE --reason … --as ADMIN``: grant a role from the command line.

Every grant names the person who acts (``--as``): an active administrator, who proves it with
password and second factor as at the web login (asked here; on a pipe read line by line from
standard input). The same rules as on the page /konto/verwaltung/rollen/ then apply: nobody grants
a role to themselves, a DPO or admin grant waits for a second person, and the audit trail names
the acting person. The operating-system account is not trusted to say who acts.

The one exception is the bootstrap of a fresh installation: while no administrator is active,
``beistand grant-role USER admin --reason …`` (without ``--as``) grants the admin role, audited
as "system".
"""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from beistand.accounts import console, services
from beistand.accounts.roles import GRANTABLE_ROLES, Role
from beistand.core.errors import DomainError


class Command(BaseCommand):
    help = ("Vergibt eine Rolle an ein Benutzerkonto. Wer vergibt, nennt sich mit --as und "
            "meldet sich mit Passwort und Zwei-Faktor-Code an; nur die erste Administration "
            "einer neuen Installation wird ohne --as vergeben. Rollen: "
            + ", ".join(r.value for r in GRANTABLE_ROLES))
    # Tests and scripts pass the answers to the prompts (password, code) as a stream.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=[r.value for r in GRANTABLE_ROLES])
        parser.add_argument("--reason", required=True, help="dienstlicher Bedarf (Pflicht)")
        parser.add_argument("--until", help="gültig bis einschließlich (JJJJ-MM-TT)")
        parser.add_argument("--as", dest="actor", metavar="BENUTZERNAME",
                            help="wer die Rolle vergibt (aktive Administration; Passwort und "
                                 "Zwei-Faktor-Code werden abgefragt)")

    def handle(self, *args, username, role, reason, until=None, actor=None, **options):
        user = console.account(username)
        expires_at = None
        if until:
            try:
                day = datetime.strptime(until, "%Y-%m-%d").date()
            except ValueError:
                raise CommandError("--until: bitte ein Datum im Format JJJJ-MM-TT.") from None
            expires_at = timezone.make_aware(datetime.combine(day, time(23, 59, 59)))
        try:
            if actor is None:
                grant = self._bootstrap(user, role, reason)
            else:
                if actor.lower() == username.lower():
                    raise CommandError("Niemand kann sich selbst eine Rolle vergeben. Bitte "
                                       "wenden Sie sich an eine andere Administratorin oder "
                                       "einen anderen Administrator.")
                person = console.acting_person(actor, options.get("stdin"))
                grant = services.grant_role(person, user, role, reason, expires_at)
        except DomainError as error:
            raise CommandError(error.detail) from None
        if grant.pending:
            self.stdout.write(
                f"Die Rolle „{grant.get_role_display()}“ für {username} wartet auf Bestätigung "
                "(Vier-Augen-Prinzip): eine andere Administratorin, ein anderer Administrator "
                "oder die/der Datenschutzbeauftragte bestätigt sie unter "
                "/konto/verwaltung/rollen/.")
        else:
            self.stdout.write(f"{username} hat jetzt die Rolle „{grant.get_role_display()}“.")

    @staticmethod
    def _bootstrap(user, role, reason):
        if services.has_active_admin():
            raise CommandError("Bitte mit --as BENUTZERNAME angeben, wer die Rolle vergibt (eine "
                               "aktive Administratorin oder ein aktiver Administrator; Passwort "
                               "und Zwei-Faktor-Code werden abgefragt).")
        if role != Role.ADMIN:
            raise CommandError("Es gibt noch keine aktive Administration. Zuerst die erste "
                               "Administration einrichten: beistand grant-role BENUTZERNAME "
                               "admin --reason …")
        return services.bootstrap_admin(user, reason)
