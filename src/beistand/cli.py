"""The ``beistand`` console script: Django's management commands under one name.

``beistand --help`` lists the commands; ``beistand import-org FILE`` is the same as
``import_org`` (hyphens and underscores are interchangeable in command names).
"""

import os
import sys

# Django's account commands that change an account without naming who acts, and what to use.
REFUSED = {
    "loaddata": "loaddata schreibt an Prüfungen und Protokoll vorbei. Wiederherstellen: "
                "beistand restore (docs/backup.md).",
    "changepassword": "changepassword nennt niemanden, der handelt. Bitte: beistand set-password "
                      "BENUTZERNAME --as ADMINISTRATION (oder das eigene Passwort im Browser "
                      "unter „Sicherheit“ ändern).",
}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beistand.settings")
    argv = list(sys.argv if argv is None else argv)
    argv[0] = "beistand"
    if len(argv) == 1 or argv[1] in {"-h", "--help"}:
        argv = [argv[0], "help"]
    elif not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    if len(argv) > 1 and argv[1] in REFUSED:
        # Django's own account commands name nobody who acts (issue 16, re-attack).
        print(f"beistand: {REFUSED[argv[1]]}", file=sys.stderr)
        sys.exit(2)
    if len(argv) > 1 and argv[1] == "demo":
        # Demo mode must be on before settings load (passwords "demo", no 2FA, banner).
        os.environ["BEISTAND_DEMO"] = "1"
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads and validates the settings
    except ImproperlyConfigured as exc:
        # A wrong environment variable: one clear line, no traceback (docs/configuration.md).
        print(f"beistand: configuration error: {exc}", file=sys.stderr)
        sys.exit(2)
    if len(argv) > 1 and argv[1] == "createsuperuser" and _has_active_admin():
        # Only the first account of a fresh installation (docs/operations.md); later accounts
        # come from the organisation data, roles from grant-role (issue 16, re-attack).
        print("beistand: createsuperuser nur für die erste Administration einer neuen "
              "Installation. Weitere Konten kommen aus den Organisationsdaten, Rollen vergibt "
              "beistand grant-role … --as ADMINISTRATION.", file=sys.stderr)
        sys.exit(2)
    execute_from_command_line(argv)


def _has_active_admin() -> bool:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beistand.settings")
    django.setup()
    from beistand.accounts.services import has_active_admin

    try:
        return has_active_admin()
    except Exception:  # no database yet (before migrate): the bootstrap is what runs
        return False


if __name__ == "__main__":
    main()

