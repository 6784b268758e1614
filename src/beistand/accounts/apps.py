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
        audited(m.EnrolmentCode, exclude=("code_hash",))
        # After every app's migrations (not only this one's): apps listed later, e.g. reports,
        # get their permissions created then, and role groups must carry them too.
        post_migrate.connect(signals.sync_role_groups, dispatch_uid="sync-role-groups")
        signals.connect_login_events()
        # E-mail and account link of a privileged role's holder (issue 16, attack review 2).
        signals.connect_identity_guard()
        from beistand.accounts.services import identity_locked
        from beistand.organisation import services as organisation

        organisation.identity_check = identity_locked
        from beistand.accounts import lockout

        lockout.connect()
        # No bearer token in any log line this process writes (issue 16, finding 9).
        from beistand.accounts.tokens import install_log_redaction

        install_log_redaction()
        # The admin site lives in core, below the roles: it learns here who may enter.
        from beistand.accounts.roles import Role
        from beistand.accounts.services import has_role
        from beistand.core.admin_site import admin_site

        admin_site.permission_check = lambda user: has_role(user, Role.ADMIN)
