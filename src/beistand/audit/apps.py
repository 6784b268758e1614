from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _protect(sender, app_config=None, using="default", apps=None, **kwargs):
    """After every migrate and every flush (a test database emptied between tests): the head row
    exists and the triggers are in place (idempotent)."""
    from django.db import connections

    from beistand.audit import protection
    from beistand.audit.chain import GENESIS_HASH

    if apps is None:
        # A flush (emit_post_migrate_signal) sends no apps: the installed models are current.
        from django.apps import apps
    try:
        head_model = apps.get_model("audit", "AuditHead")
    except LookupError:
        return
    if any(f.name == "allow_prune" for f in head_model._meta.fields):
        return  # migrated to a state before audit/0003: its own triggers apply
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_audithead")
        if cursor.fetchone()[0] == 0:
            cursor.execute("INSERT INTO audit_audithead (id, last_seq, last_hash) "
                           "VALUES (1, 0, %s)", [GENESIS_HASH])
    protection.install(connection)


class AuditConfig(AppConfig):
    name = "beistand.audit"
    label = "audit"
    verbose_name = "Protokoll"

    def ready(self):
        from beistand.audit import signals  # noqa: F401  (connects the model-write recorder)

        post_migrate.connect(_protect, sender=self, dispatch_uid="audit-protect")
        # SQLite: the application's connections may not take the trail's protections apart.
        from django.db.backends.signals import connection_created

        from beistand.audit import guard

        connection_created.connect(guard.install, dispatch_uid="audit-sqlite-guard")
