"""Alarm plans: which plan applies to a sender, and who each tier reaches (whether they are
online is ``presence.online_inboxes``).

A plan is found from the most specific place: the sender's room, then the sender's unit or the
nearest parent unit with a plan, then the room's site, then the default plan. Receivers are
people with a login (their inbox) and devices bound only to a room (a reception terminal).
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from beistand.accounts.models import DeviceToken, RoleGrant
from beistand.accounts.roles import Role
from beistand.alarms import locations
from beistand.alarms.models import AlarmPlan, AlarmTier, Inbox
from beistand.organisation.models import Employee


def resolve_plan(room=None, unit=None) -> AlarmPlan | None:
    """The plan for an alarm: the room's, else the nearest unit's up the unit tree, else the
    site's, else the default plan. One query for the candidates (this runs on every alarm's
    delivery); a unit's parents are loaded only while a unit plan may still apply."""
    site_id = room.floor.building.site_id if room is not None else None
    wanted = Q(scope=AlarmPlan.Scope.DEFAULT) | Q(scope=AlarmPlan.Scope.UNIT)
    if room is not None:
        wanted |= Q(scope=AlarmPlan.Scope.ROOM, room=room)
        wanted |= Q(scope=AlarmPlan.Scope.SITE, site_id=site_id)
    first: dict[tuple[str, int | None], AlarmPlan] = {}
    for plan in AlarmPlan.objects.filter(wanted).order_by("scope", "name"):
        target = {AlarmPlan.Scope.ROOM: plan.room_id, AlarmPlan.Scope.UNIT: plan.unit_id,
                  AlarmPlan.Scope.SITE: plan.site_id}.get(plan.scope)
        first.setdefault((plan.scope, target), plan)
    if room is not None and (AlarmPlan.Scope.ROOM, room.pk) in first:
        return first[(AlarmPlan.Scope.ROOM, room.pk)]
    if any(scope == AlarmPlan.Scope.UNIT for scope, _ in first):
        node = unit
        while node is not None:
            if (AlarmPlan.Scope.UNIT, node.pk) in first:
                return first[(AlarmPlan.Scope.UNIT, node.pk)]
            node = node.parent
    if room is not None and (AlarmPlan.Scope.SITE, site_id) in first:
        return first[(AlarmPlan.Scope.SITE, site_id)]
    return first.get((AlarmPlan.Scope.DEFAULT, None))


# The last tier of every plan is its last resort: never skipped for "nobody online", it reaches
# named people by SMS (the security service, selected persons) or an external control room.
LAST_RESORT_KINDS = frozenset({AlarmTier.Kind.SECURITY, AlarmTier.Kind.PEOPLE,
                               AlarmTier.Kind.EXTERNAL})
LAST_RESORT_REFUSED = (
    "Die letzte Stufe eines Alarmplans muss ein letzter Ausweg sein, der auch dann erreicht, "
    "wenn niemand online ist: der Sicherheitsdienst oder ausgewählte Personen mit „SMS an "
    "Empfänger ohne Verbindung“ (oder „SMS an alle“), oder eine externe Leitstelle mit "
    "Telefonnummer oder E-Mail-Adresse. Sonst liefe ein Alarm still ins Leere.")


def is_last_resort(kind: str, *, sms_when_offline=False, sms_always=False, external_phone="",
                   external_email="") -> bool:
    if kind == AlarmTier.Kind.EXTERNAL:
        return bool(external_phone or external_email)
    return kind in LAST_RESORT_KINDS and bool(sms_when_offline or sms_always)


def last_resort_problem(tiers: list[dict]) -> str:
    """"" when the plan's tiers (dicts of tier fields; the highest ``order`` is the last) end in
    a last resort, else the German reason for refusing the plan."""
    if not tiers:
        return "Ein Alarmplan braucht mindestens eine Stufe. " + LAST_RESORT_REFUSED
    last = max(tiers, key=lambda t: t.get("order") or 0)
    fields = ("sms_when_offline", "sms_always", "external_phone", "external_email")
    if is_last_resort(last.get("kind"), **{f: last.get(f) for f in fields}):
        return ""
    return LAST_RESORT_REFUSED


def tier_fields(tier: AlarmTier) -> dict:
    return {"order": tier.order, "kind": tier.kind, "sms_when_offline": tier.sms_when_offline,
            "sms_always": tier.sms_always, "external_phone": tier.external_phone,
            "external_email": tier.external_email}


def plan_problem(plan: AlarmPlan) -> str:
    """The refusal reason for a stored plan ("" when it ends in a last resort)."""
    return last_resort_problem([tier_fields(t) for t in plan.tiers.all()])


@dataclass
class Members:
    """Receivers of a tier: user ids and room-only device ids."""

    user_ids: set[int] = field(default_factory=set)
    device_ids: set[int] = field(default_factory=set)


def _employees_with_login():
    return Employee.objects.filter(active=True, user__isnull=False, user__is_active=True)


def _room_devices():
    return DeviceToken.objects.filter(user__isnull=True, revoked_at__isnull=True,
                                      room__isnull=False)


def _in_area(members: Members, room_filter: Q) -> Members:
    members.user_ids |= set(_employees_with_login().filter(room_filter)
                            .values_list("user_id", flat=True))
    members.device_ids |= set(_room_devices().filter(room_filter).values_list("id", flat=True))
    return members


def _neighbours(room, lat, lon, radius_m: int) -> Members:
    """The room's neighbours by the floor plan, and - with a position (a field worker, an SMS
    with coordinates) - colleagues whose phones are near it: room plus position."""
    members = _near_position(lat, lon, radius_m)
    if room is not None:
        if room.x is None or room.y is None:
            return _in_area(members, Q(room__floor_id=room.floor_id))
        origin = locations.room_point(room)
        for emp_user, r_x, r_y, r_level in (
                _employees_with_login().filter(room__floor_id=room.floor_id)
                .values_list("user_id", "room__x", "room__y", "room__floor__level")):
            point = locations.Point(building_id=origin.building_id, level=r_level, x=r_x, y=r_y)
            d = locations.distance_m(origin, point)
            if d is not None and d <= radius_m:
                members.user_ids.add(emp_user)
        for dev_id, r_x, r_y in (_room_devices().filter(room__floor_id=room.floor_id)
                                 .values_list("id", "room__x", "room__y")):
            if r_x is not None and r_y is not None and \
                    ((r_x - room.x) ** 2 + (r_y - room.y) ** 2) ** 0.5 <= radius_m:
                members.device_ids.add(dev_id)
    return members


def _near_position(lat, lon, radius_m: int) -> Members:
    members = Members()
    if lat is not None and lon is not None:
        # Colleagues whose phones reported a position nearby recently.
        since = timezone.now() - timedelta(minutes=settings.ALARM_POSITION_MAX_AGE_MINUTES)
        radius = max(radius_m, 200)
        for user_id, p_lat, p_lon in (Inbox.objects.filter(user__isnull=False,
                                                           position_at__gte=since)
                                      .values_list("user_id", "lat", "lon")):
            if locations.haversine_m(lat, lon, p_lat, p_lon) <= radius:
                members.user_ids.add(user_id)
    return members


def tier_members(tier: AlarmTier, *, room=None, unit=None, lat=None, lon=None) -> Members:
    kind = tier.kind
    if kind == AlarmTier.Kind.NEIGHBOURS:
        return _neighbours(room, lat, lon, tier.radius_m)
    if kind == AlarmTier.Kind.FLOOR:
        return _in_area(Members(), Q(room__floor_id=room.floor_id)) if room else Members()
    if kind == AlarmTier.Kind.BUILDING:
        return (_in_area(Members(), Q(room__floor__building_id=room.floor.building_id))
                if room else Members())
    if kind == AlarmTier.Kind.SITE:
        return (_in_area(Members(), Q(room__floor__building__site_id=room.floor.building.site_id))
                if room else Members())
    if kind == AlarmTier.Kind.UNIT:
        if unit is None:
            return Members()
        return Members(user_ids=set(_employees_with_login().filter(unit=unit)
                                    .values_list("user_id", flat=True)))
    if kind == AlarmTier.Kind.SECURITY:
        return Members(user_ids=security_user_ids())
    if kind == AlarmTier.Kind.PEOPLE:
        return Members(user_ids=set(tier.people.filter(active=True, user__isnull=False)
                                    .values_list("user_id", flat=True)))
    return Members()  # external: reached by SMS/e-mail only


def security_user_ids() -> set[int]:
    return set(RoleGrant.objects.active().filter(role=Role.SECURITY, user__is_active=True)
               .values_list("user_id", flat=True))


def admin_user_ids() -> set[int]:
    return set(RoleGrant.objects.active().filter(role=Role.ADMIN, user__is_active=True)
               .values_list("user_id", flat=True))


def area_members(room, scope: str) -> Members:
    """Everybody in the building or site of ``room`` (Amok), plus the security service."""
    members = Members(user_ids=security_user_ids())
    if room is None:
        return members
    if scope == "site":
        return _in_area(members, Q(room__floor__building__site_id=room.floor.building.site_id))
    return _in_area(members, Q(room__floor__building_id=room.floor.building_id))
