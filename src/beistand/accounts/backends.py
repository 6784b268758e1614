"""Model permissions only through *active* role grants.

Django's ModelBackend gives a user the permissions of every group they are in. beistand does not
put users into groups; instead the groups of the user's active ``RoleGrant`` rows count, so an
expired or revoked grant ends the permissions at the same moment.
"""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission


class RoleAwareModelBackend(ModelBackend):
    def _get_group_permissions(self, user_obj):
        from beistand.accounts.models import RoleGrant
        from beistand.accounts.roles import group_name

        roles = set(RoleGrant.objects.active().filter(user=user_obj)
                    .values_list("role", flat=True))
        return Permission.objects.filter(group__name__in=[group_name(r) for r in roles])
