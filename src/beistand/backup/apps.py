from django.apps import AppConfig


class BackupConfig(AppConfig):
    name = "beistand.backup"
    label = "backup"
    verbose_name = "Datensicherung"

    def ready(self):
        # The register (below) announces its deletions; the journal records them outside the
        # database so a restore of an older backup can repeat them.
        from beistand.backup import journal
        from beistand.register import signals

        signals.person_purged.connect(journal.on_person_purged, dispatch_uid="journal-purge")
        signals.lookups_pruned.connect(journal.on_lookups_pruned, dispatch_uid="journal-prune")
