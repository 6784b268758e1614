"""Django's ``migrate``, with the audit trail's SQLite guard open (``audit/guard.py``): schema
maintenance is the one place that may replace the trail's triggers."""

from django.core.management.commands.migrate import Command as MigrateCommand

from beistand.audit import guard


class Command(MigrateCommand):
    def handle(self, *args, **options):
        with guard.maintenance():
            return super().handle(*args, **options)
