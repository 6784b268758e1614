"""The person acting on the command line. Commands that change accounts or devices name that
person (``--as``), who proves it with password and second factor as at the web login
(``services.authenticate_console_person``); the prompts read from the terminal without echo,
or line by line from a pipe. The operating-system account is not trusted to say who acts."""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from beistand.accounts import services
from beistand.core.errors import DomainError


def ask(stdin, prompt: str) -> str:
    if stdin is sys.stdin and stdin.isatty():
        return getpass.getpass(prompt)
    return (stdin.readline() or "").rstrip("\r\n")


def acting_person(username: str | None, stdin=None, *, option: str = "--as"):
    """The proven person behind ``username`` (password and code asked), or CommandError."""
    if not username:
        raise CommandError(f"Bitte mit {option} BENUTZERNAME angeben, wer handelt (Passwort und "
                           "Zwei-Faktor-Code werden abgefragt).")
    stdin = stdin or sys.stdin
    password = ask(stdin, f"Passwort von {username}: ")
    code = ask(stdin, "Zwei-Faktor-Code (leer, falls keiner nötig): ")
    try:
        return services.authenticate_console_person(username, password, code)
    except DomainError as error:
        raise CommandError(error.detail) from None


def account(username: str):
    """The account a command acts on, or CommandError."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"Benutzer „{username}“ gibt es nicht.")
    return user


def add_acting_arguments(parser, *, actor_required: bool) -> None:
    """``--as`` (who acts) and ``--with`` (the second person, needed for a privileged one)."""
    parser.add_argument("--with", dest="second", metavar="BENUTZERNAME",
                        help="zweite Person (andere Administration oder Datenschutz), "
                             "nötig für Personen mit besonderer Rolle; meldet sich ebenso an")
    parser.add_argument("--as", dest="actor", metavar="BENUTZERNAME", required=actor_required,
                        help="wer handelt (aktive Administration)")
