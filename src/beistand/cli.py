"""The ``beistand`` console script: Django's management commands under one name.

``beistand --help`` lists the commands; ``beistand import-org FILE`` is the same as
``import_org`` (hyphens and underscores are interchangeable in command names).
"""

import os
import sys

# Django's account commands that change an account without naming who acts, and what to use.
REFUSED = {
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
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
