"""``beistand rebuild-search-keys``: recompute every registered person's search keys.

Needed once after an update that adds key kinds (docs/register.md, "Search keys"); look-ups
keep working meanwhile. Repeatable; one transaction per chunk of persons.
"""

from django.core.management.base import BaseCommand

from beistand.register import services


class Command(BaseCommand):
    help = "Suchschlüssel aller Personen im Register neu berechnen (nach einem Update)."

    def handle(self, *args, **options):
        count = services.rebuild_all_search_keys(
            progress=lambda n: self.stderr.write(f"{n} Personen neu verschlüsselt"))
        self.stdout.write(f"Suchschlüssel von {count} Personen neu berechnet.")
