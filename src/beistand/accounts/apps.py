from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "beistand.accounts"
    label = "accounts"
    verbose_name = "Konten und Rollen"

    def ready(self):
        from beistand.accounts import models as m
        from beistand.accounts import signals
        from beistand.audit.signals import audited

        audited(m.RoleGrant)
        audited(m.ApiToken, exclude=("last_used_at",))
        audited(m.DeviceToken, exclude=("last_seen_at",))
        # After every app's migrations (not only this one's): apps listed later, e.g. reports,
        # get their permissions created then, and role groups must carry them too.
        post_migrate.connect(signals.sync_role_groups, dispatch_uid="sync-role-groups")
        signals.connect_login_events()
