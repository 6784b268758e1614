""""Wer bekommt meinen Alarm jetzt?": for a room or an employee, the plan's tiers with their
receivers and whether each is connected right now."""

from beistand.accounts.roles import Role
from beistand.accounts.services import has_role
from beistand.alarms import plans, store
from beistand.core.errors import AccessDenied, InvalidInput, NotFound
from beistand.organisation.models import Employee, Room


def for_request(user, *, room_id=None, employee_id=None) -> dict:
    if room_id is None and employee_id is None:
        own = getattr(user, "employee", None)
        if own is None:
            raise InvalidInput("Bitte einen Raum oder eine Person angeben.", field="room")
        employee_id = own.pk
    privileged = has_role(user, Role.ADMIN, Role.SECURITY, Role.ZKS)
    employee = room = None
    if employee_id is not None:
        employee = (Employee.objects.select_related("room__floor__building__site", "unit")
                    .filter(pk=employee_id).first())
        if employee is None:
            raise NotFound("Diese Person gibt es nicht.")
        if not privileged and employee.user_id != user.pk:
            raise AccessDenied("Sie dürfen nur die Abdeckung Ihres eigenen Arbeitsplatzes "
                               "sehen.")
        room = employee.room
    else:
        if not privileged:
            raise AccessDenied("Die Abdeckung beliebiger Räume sehen nur Administration, "
                               "Sicherheitsdienst und ZKS.")
        room = Room.objects.select_related("floor__building__site").filter(pk=room_id).first()
        if room is None:
            raise NotFound("Diesen Raum gibt es nicht.")
    return compute(room=room, employee=employee)


def compute(*, room=None, employee=None) -> dict:
    unit = employee.unit if employee is not None else None
    plan = plans.resolve_plan(room, unit)
    tiers = []
    seen: set[int] = set()
    for tier in (plan.tiers.order_by("order") if plan else []):
        members = plans.tier_members(tier, room=room, unit=unit)
        if employee is not None and employee.user_id:
            members.user_ids.discard(employee.user_id)
        by_user = store.inboxes_for_users(members.user_ids)
        by_device = store.inboxes_for_devices(members.device_ids)
        online = plans.online_inboxes(set(by_user.values()) | set(by_device.values()))
        people = []
        for emp in (Employee.objects.filter(user_id__in=by_user).select_related("room")
                    .order_by("last_name", "first_name")):
            inbox = by_user[emp.user_id]
            people.append({"name": emp.full_name, "room": emp.room.number if emp.room else None,
                           "online": inbox in online, "mobile": bool(emp.mobile_phone),
                           "already_in_earlier_tier": inbox in seen})
        from beistand.accounts.models import DeviceToken

        for device in DeviceToken.objects.filter(pk__in=by_device).select_related("room"):
            inbox = by_device[device.pk]
            people.append({"name": f"Gerät {device.name}",
                           "room": device.room.number if device.room else None,
                           "online": inbox in online, "mobile": False,
                           "already_in_earlier_tier": inbox in seen})
        new_online = sum(1 for p in people if p["online"] and not p["already_in_earlier_tier"])
        seen |= set(by_user.values()) | set(by_device.values())
        tiers.append({"order": tier.order, "kind": tier.kind,
                      "kind_label": tier.get_kind_display(), "timeout_s": tier.timeout_s,
                      "acks_needed": tier.acks_needed, "receivers": people,
                      "online": sum(1 for p in people if p["online"]),
                      "skipped_now": new_online == 0 and tier.kind != "external",
                      "external": tier.external_phone or tier.external_email or None})
    return {"plan": {"id": plan.pk, "name": plan.name,
                     "scope": plan.get_scope_display()} if plan else None,
            "room": room.number if room else None,
            "employee": employee.full_name if employee else None,
            "tiers": tiers,
            "warning": (None if any(not t["skipped_now"] for t in tiers)
                        else "Niemand aus dem Alarmplan ist gerade erreichbar.")}

