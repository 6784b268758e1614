"""The roles of beistand and what they may do.

Roles are the unit of authorisation. ``reporter`` (every employee with an account) and
``supervisor`` (derived from the unit tree) are never granted; all others are granted per person
by an administrator with a reason (``RoleGrant``), the querier role always with an expiry.
Each role has a Django group carrying its model permissions; the permission backend honours only
groups whose grant is active, so an expired grant stops working at once.
"""

from django.db import models


class Role(models.TextChoices):
    REPORTER = "reporter", "Meldende/r"
    SUPERVISOR = "supervisor", "Vorgesetzte/r"
    PERSONNEL = "personnel", "Personalverwaltung (Amt 11)"
    ZKS = "zks", "Zentrale Koordinierungsstelle (ZKS I/3)"
    QUERIER = "querier", "Abfrageberechtigte/r"
    STATISTICS = "statistics", "Statistik"
    DPO = "dpo", "Datenschutzbeauftragte/r"
    SECURITY = "security", "Sicherheitsdienst"
    ADMIN = "admin", "Administration"


DERIVED_ROLES = frozenset({Role.REPORTER, Role.SUPERVISOR})
GRANTABLE_ROLES = tuple(r for r in Role if r not in DERIVED_ROLES)
# These roles reach personal or criminal-offence data: a second factor (TOTP) is mandatory.
PRIVILEGED_ROLES = frozenset({Role.PERSONNEL, Role.ZKS, Role.QUERIER, Role.DPO, Role.ADMIN})
# A grant of these roles must carry an expiry date (documented work need, time-limited).
EXPIRY_REQUIRED = frozenset({Role.QUERIER})
# Four-eyes: a grant of these roles counts only once a second person (another admin or the DPO,
# neither the grantor nor the grantee) has confirmed it.
FOUR_EYES_ROLES = frozenset({Role.DPO, Role.ADMIN})

GROUP_PREFIX = "beistand:"

# Model permissions carried by each role's group. Later apps extend this table.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.ADMIN: [
        "organisation.add_body", "organisation.change_body", "organisation.view_body",
        "organisation.add_orgunit", "organisation.change_orgunit", "organisation.delete_orgunit",
        "organisation.view_orgunit",
        "organisation.add_site", "organisation.change_site", "organisation.delete_site",
        "organisation.view_site",
        "organisation.add_building", "organisation.change_building",
        "organisation.delete_building", "organisation.view_building",
        "organisation.add_floor", "organisation.change_floor", "organisation.delete_floor",
        "organisation.view_floor",
        "organisation.add_room", "organisation.change_room", "organisation.delete_room",
        "organisation.view_room",
        "organisation.add_employee", "organisation.change_employee",
        "organisation.view_employee",
        "accounts.view_rolegrant", "accounts.view_devicetoken",
        "reports.add_offence", "reports.change_offence", "reports.view_offence",
        "reports.add_helpoffer", "reports.change_helpoffer", "reports.view_helpoffer",
        "alarms.add_alarmplan", "alarms.change_alarmplan", "alarms.delete_alarmplan",
        "alarms.view_alarmplan",
        "alarms.add_alarmtier", "alarms.change_alarmtier", "alarms.delete_alarmtier",
        "alarms.view_alarmtier",
        "alarms.add_alarmtemplate", "alarms.change_alarmtemplate",
        "alarms.delete_alarmtemplate", "alarms.view_alarmtemplate",
    ],
    Role.DPO: ["audit.view_auditevent", "accounts.view_rolegrant"],
    Role.PERSONNEL: ["organisation.view_employee", "organisation.view_orgunit"],
    Role.ZKS: ["organisation.view_orgunit"],
    Role.QUERIER: [],
    Role.STATISTICS: [],
    Role.SECURITY: ["organisation.view_room", "organisation.view_site",
                    "alarms.view_alarmplan", "alarms.view_alarmtier",
                    "alarms.view_alarmtemplate"],
}


def group_name(role: str) -> str:
    return f"{GROUP_PREFIX}{role}"
