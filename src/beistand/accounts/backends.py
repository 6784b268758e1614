"""Model permissions only through *active* role grants.

Django's ModelBackend gives a user the permissions of every group they are in. beistand does not
put users into groups; instead the groups of the user's active ``RoleGrant`` rows count, so an
expired or revoked grant ends the permissions at the same moment.
"""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

# The demo accounts' shared password. Outside demo mode it never opens an account, so a demo
# database later served for real (or a copied demo password) cannot be used to log in.
DEMO_PASSWORD = "demo"


class RoleAwareModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if password == DEMO_PASSWORD and not settings.DEMO_MODE:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def _get_group_permissions(self, user_obj):
        from beistand.accounts.models import RoleGrant
        from beistand.accounts.roles import group_name

        roles = set(RoleGrant.objects.active().filter(user=user_obj)
                    .values_list("role", flat=True))
        return Permission.objects.filter(group__name__in=[group_name(r) for r in roles])
