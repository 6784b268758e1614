"""Django's admin, opened only to holders of the administrator role (with 2FA outside demo).

Logging in happens only through beistand's own login (lockout, second factor); the admin's own
login form is never shown. Logged-in users without the role get the German 403 page.
"""

from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse


class BeistandAdminSite(AdminSite):
    """``permission_check(user) -> bool`` decides who gets in. The accounts app sets it at start-up
    (this lower layer knows no roles); until then nobody does: the site fails closed."""

    permission_check = staticmethod(lambda user: False)

    site_header = "beistand – Stammdaten"
    site_title = "beistand Stammdaten"
    index_title = "Stammdaten"
    site_url = "/"

    def has_permission(self, request):
        return request.user.is_active and self.permission_check(request.user)

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(reverse("admin:index", current_app=self.name))
            raise PermissionDenied("Stammdaten pflegt nur die Administration.")
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect_to_login(target, reverse("accounts:login"))


admin_site = BeistandAdminSite(name="admin")
