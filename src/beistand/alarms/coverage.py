""""Wer bekommt meinen Alarm jetzt?": for a room or an employee, the plan's tiers with their
receivers and whether each is connected right now.

The same rule (``level``) drives the coverage indicator before pressing: the HTTP answer here,
and the ``coverage`` frame the server pushes over the alarm WebSocket when presence changes
(``coverage_watch.py``), which works from a ``Snapshot`` of a place's tiers (inbox sets, read
once) and the online set, without reading each receiver again.
"""

from dataclasses import dataclass

from beistand.accounts.models import DeviceToken
from beistand.accounts.roles import Role
from beistand.accounts.services import has_role
from beistand.alarms import plans, presence, store
from beistand.core.errors import AccessDenied, InvalidInput, NotFound
from beistand.organisation.models import Employee, OrgUnit, Room


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
        online = presence.online_inboxes(set(by_user.values()) | set(by_device.values()))
        silent = presence.seats_without_sound(online)
        locked = presence.locked_seats(online)
        people = []
        for emp in (Employee.objects.filter(user_id__in=by_user).select_related("room")
                    .order_by("last_name", "first_name")):
            inbox = by_user[emp.user_id]
            people.append({"name": emp.full_name, "room": emp.room.number if emp.room else None,
                           "online": inbox in online, "mobile": bool(emp.mobile_phone),
                           "no_sound": silent.get(inbox), "locked": inbox in locked,
                           "already_in_earlier_tier": inbox in seen})
        for device in DeviceToken.objects.filter(pk__in=by_device).select_related("room"):
            inbox = by_device[device.pk]
            people.append({"name": f"Gerät {device.name}",
                           "room": device.room.number if device.room else None,
                           "online": inbox in online, "mobile": False,
                           "no_sound": silent.get(inbox), "locked": inbox in locked,
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
                        else "Niemand aus dem Alarmplan ist gerade erreichbar."),
            **level(tiers)}


def level(tiers: list[dict]) -> dict:
    """The coverage indicator before pressing (alarm page, phone app, desktop tray): green when
    someone of the first tier is connected, yellow when only later tiers are, red when nobody
    is connected (the alarm would go out only by SMS / to the control room, if at all).

    Each tier: ``order``, ``kind_label``, ``online`` (connected receivers), ``external``, and
    either its ``receivers`` (dicts with ``online``, ``mobile``, ``no_sound``, ``locked``) or
    the counts ``mobile`` (receivers with a mobile number), ``no_sound`` and ``locked``
    (connected receivers without sound / with a locked screen)."""
    online = [t["online"] for t in tiers]
    if online and online[0] > 0:
        n = online[0]
        silent, locked = _count(tiers[0], "no_sound"), _count(tiers[0], "locked")
        notes = [f"{silent} ohne Ton" if silent else "",
                 f"{locked} mit gesperrtem Bildschirm" if locked else ""]
        notes = [x for x in notes if x]
        return {"level": "green",
                "level_text": f"Ihr Alarm erreicht jetzt sofort {n} "
                              f"{'Person' if n == 1 else 'Personen'} (Stufe 1)"
                              + (f", davon {' und '.join(notes)}." if notes else ".")}
    later = next((t for t in tiers[1:] if t["online"] > 0), None)
    if later is not None:
        return {"level": "yellow",
                "level_text": "Aus der ersten Stufe ist niemand verbunden – Ihr Alarm erreicht "
                              f"erst Stufe {later['order']} ({later['kind_label']})."}
    fallback = any(t["external"] for t in tiers) or any(_count(t, "mobile") for t in tiers)
    return {"level": "red",
            "level_text": "Niemand ist gerade verbunden – Ihr Alarm ginge "
                          + ("nur per SMS bzw. an die Leitstelle" if fallback else "an niemanden")
                          + ". Im Notfall rufen Sie 110."}


def _count(tier: dict, what: str) -> int:
    if what in tier:
        return int(tier[what])
    if what == "mobile":
        return sum(1 for p in tier.get("receivers", ()) if p.get("mobile"))
    return sum(1 for p in tier.get("receivers", ()) if p.get("online") and p.get(what))


# --- The live indicator: a place's tiers as inbox sets ------------------------------------------

@dataclass(frozen=True)
class TierInboxes:
    order: int
    kind_label: str
    external: str | None
    inboxes: frozenset[int]
    mobile: frozenset[int]  # the inboxes of receivers with a mobile number (SMS fallback)


@dataclass(frozen=True)
class Snapshot:
    """The tiers of the plan that applies to senders in one room and unit, as inbox sets (the
    senders' own inbox is taken out per sender, as ``compute`` does)."""

    tiers: tuple[TierInboxes, ...]

    def inboxes(self) -> frozenset[int]:
        return frozenset().union(*(t.inboxes for t in self.tiers))

    def levels(self, online, silent, locked):
        """-> ``own inbox -> level`` for the senders of this place: ``online``, ``silent``,
        ``locked`` are sets of inboxes (connected / a client without sound / every client's
        screen locked). The sets are intersected once; per sender only its own inbox is taken
        out of the counts, and equal counts share one answer."""
        base = []
        for t in self.tiers:
            up = t.inboxes & online
            base.append((t, up, up & silent, up & locked))
        answers: dict[tuple, dict] = {}

        def level_of(own: int | None) -> dict:
            counts = tuple((len(up) - (own in up), len(t.mobile) - (own in t.mobile),
                            len(s) - (own in s), len(lk) - (own in lk))
                           for t, up, s, lk in base)
            answer = answers.get(counts)
            if answer is None:
                answer = answers[counts] = level([
                    {"order": t.order, "kind_label": t.kind_label, "external": t.external,
                     "online": n, "mobile": m, "no_sound": s, "locked": lk}
                    for (t, *_), (n, m, s, lk) in zip(base, counts, strict=True)])
            return answer

        return level_of


def snapshot(room_id: int | None, unit_id: int | None) -> Snapshot:
    """The tiers of the plan for a sender in this room and unit (what ``compute`` resolves)."""
    room = (Room.objects.select_related("floor__building").filter(pk=room_id).first()
            if room_id is not None else None)
    unit = OrgUnit.objects.filter(pk=unit_id).first() if unit_id is not None else None
    plan = plans.resolve_plan(room, unit)
    tiers = []
    for tier in (plan.tiers.order_by("order") if plan else []):
        members = plans.tier_members(tier, room=room, unit=unit)
        by_user = store.inboxes_for_users(members.user_ids)
        by_device = store.inboxes_for_devices(members.device_ids)
        mobile_users = (Employee.objects.filter(user_id__in=by_user).exclude(mobile_phone="")
                        .values_list("user_id", flat=True))
        tiers.append(TierInboxes(
            order=tier.order, kind_label=tier.get_kind_display(),
            external=tier.external_phone or tier.external_email or None,
            inboxes=frozenset(by_user.values()) | frozenset(by_device.values()),
            mobile=frozenset(by_user[u] for u in mobile_users)))
    return Snapshot(tiers=tuple(tiers))
