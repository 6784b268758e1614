"""Django's admin, opened only to holders of the administrator role (with 2FA outside demo)."""

from django.contrib.admin import AdminSite


class BeistandAdminSite(AdminSite):
    site_header = "beistand – Verwaltung"
    site_title = "beistand Verwaltung"
    index_title = "Stammdaten"

    def has_permission(self, request):
        from beistand.accounts.roles import Role
        from beistand.accounts.services import has_role

        return request.user.is_active and has_role(request.user, Role.ADMIN)


admin_site = BeistandAdminSite(name="admin")
