"""The silent alarm's self-checks, for the supervision in ops (``beistand.ops.supervision``,
which raises technical alerts from them): is every unit's first alarm tier reachable, is the
SMS gateway failing; and the on-call SMS that carries such an alert.

Alarm facts only; the alerting (``TechnicalAlert``) and the daily synthetic Probealarm
(``ProbeRun``) are operations and live in ops, above this app.
"""

from django.utils import timezone

from beistand.alarms import plans, presence
from beistand.alarms.models import AlarmTier, Inbox, SmsMessage
from beistand.alarms.sms import normalise_number


def uncovered_units(now=None) -> list[str]:
    """Codes of units (with alarm users at a workstation) whose first tier has nobody online."""
    from beistand.organisation.models import Employee, OrgUnit

    staff = (Employee.objects.filter(active=True, room__isnull=False, user__isnull=False,
                                     user__is_active=True,
                                     user__alarm_inbox__isnull=False)
             .values_list("unit_id", "room_id"))
    rooms_of: dict[int, set[int]] = {}
    for unit_id, room_id in staff:
        rooms_of.setdefault(unit_id, set()).add(room_id)
    if not rooms_of:
        return []
    from beistand.organisation.models import Room

    units = OrgUnit.objects.in_bulk(list(rooms_of))
    rooms = Room.objects.select_related("floor__building").in_bulk(
        {r for rs in rooms_of.values() for r in rs})
    covered_cache: dict[tuple[int, int], bool] = {}
    uncovered = []
    for unit_id, room_ids in rooms_of.items():
        unit = units[unit_id]
        covered = False
        for room_id in sorted(room_ids):
            plan = plans.resolve_plan(rooms[room_id], unit)
            first = plan.tiers.order_by("order").first() if plan else None
            if first is None:
                continue
            key = (first.pk, room_id)
            if key not in covered_cache:
                covered_cache[key] = _tier_online(first, rooms[room_id], unit)
            if covered_cache[key]:
                covered = True
                break
        if not covered:
            uncovered.append(unit.code)
    return sorted(uncovered)


def _tier_online(tier, room, unit) -> bool:
    if tier.kind == AlarmTier.Kind.EXTERNAL:
        return True  # a control room reached by SMS/e-mail, never "online"
    members = plans.tier_members(tier, room=room, unit=unit)
    inboxes = set(Inbox.objects.filter(user_id__in=members.user_ids).values_list("id", flat=True))
    inboxes |= set(Inbox.objects.filter(device_id__in=members.device_ids)
                   .values_list("id", flat=True))
    return bool(presence.online_inboxes(inboxes)) if inboxes else False


def sms_failure_streak() -> int:
    """Failed gateway attempts since the last SMS the gateway took."""
    streak = 0
    for state, attempts, error in (SmsMessage.objects.filter(
            direction=SmsMessage.Direction.OUT, attempts__gt=0).order_by("-updated_at", "-pk")
            .values_list("state", "attempts", "error")[:100]):
        if state == SmsMessage.State.CANCELLED:
            continue  # not sent because its alarm had ended: no gateway failure
        if state in (SmsMessage.State.SENT, SmsMessage.State.DELIVERED) or not error:
            break
        streak += attempts
    return streak


def queue_oncall_sms(phone: str, text: str) -> SmsMessage:
    """Queue an SMS to the on-call phone (sent by the alarm engine like an alarm's SMS)."""
    now = timezone.now()
    return SmsMessage.objects.create(direction=SmsMessage.Direction.OUT,
                                     phone=normalise_number(phone)[:40], text=text[:640],
                                     state=SmsMessage.State.QUEUED, created_at=now,
                                     updated_at=now, next_attempt_at=now)
