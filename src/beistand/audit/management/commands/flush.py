"""Django's ``flush``, with the audit trail's SQLite guard open (``audit/guard.py``). The
append-only triggers still refuse to empty the trail; a test database removes them first."""

from django.core.management.commands.flush import Command as FlushCommand

from beistand.audit import guard


class Command(FlushCommand):
    def handle(self, *args, **options):
        with guard.maintenance():
            return super().handle(*args, **options)
