"""The JSON events of the alarm protocol (docs/alarm-protocol.md), built from model instances
handed in (this module imports no models: the Web Push rows, defined beside the models, build
their payloads here too)."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING

from beistand.alarms import locations

if TYPE_CHECKING:
    from beistand.alarms.models import Alarm


def iso(value) -> str | None:
    """One time format on HTTP and WebSocket: ISO 8601 in UTC with "Z"."""
    if not value:
        return None
    if value.utcoffset() is not None:
        value = value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def template_info(template) -> dict:
    return {"code": template.code, "name": template.name, "priority": template.priority,
            "sound": template.sound, "test": template.test, "come": template.come}


def sender_info(alarm: Alarm) -> dict:
    emp = alarm.sender
    if emp is None:
        label = alarm.device.name if alarm.device_id else (
            "Funktionstest (beistand alarm test)" if alarm.source == alarm.Source.TEST
            else "unbekannt")
        return {"first_name": "", "last_name": "", "name": label, "phone": None,
                "mobile": None, "unit": None}
    return {"first_name": emp.first_name, "last_name": emp.last_name, "name": emp.full_name,
            "phone": emp.service_phone or None, "mobile": emp.mobile_phone or None,
            "unit": emp.unit.code if emp.unit_id else None}


def location_of(alarm: Alarm) -> dict:
    return locations.describe(alarm.room, alarm.lat, alarm.lon, alarm.accuracy_m,
                              alarm.location_text)


def alarm_point(alarm: Alarm) -> locations.Point:
    room_pt = locations.room_point(alarm.room)
    if alarm.lat is not None and alarm.lon is not None:
        return locations.Point(lat=alarm.lat, lon=alarm.lon, building_id=room_pt.building_id,
                               level=room_pt.level, x=room_pt.x, y=room_pt.y)
    return room_pt


def responders(alarm: Alarm) -> list[dict]:
    rows = (alarm.recipients.exclude(response="")
            .order_by("responded_at").values_list("label", "response", "responded_at"))
    return [{"name": label, "response": response, "at": iso(at)} for label, response, at in rows]


def alarm_event(alarm: Alarm, *, role: str, tier: int, distance_m: int | None,
                common: dict | None = None) -> dict:
    """``common`` carries the parts equal for every receiver (built once per tier)."""
    common = common or alarm_common(alarm)
    return {"type": "alarm", "alarm_id": alarm.pk, "role": role, **common, "tier": tier,
            "distance_m": distance_m}


def alarm_common(alarm: Alarm, known_responders: list | None = None) -> dict:
    """``known_responders``: ``[]`` for an alarm nobody can have answered yet (no query)."""
    return {"template": template_info(alarm.template), "state": alarm.state,
            "triggered_at": iso(alarm.triggered_at), "pressed_at": iso(alarm.pressed_at),
            "countdown_until": iso(alarm.countdown_until),
            "sender": sender_info(alarm),
            "location": location_of(alarm),
            "location_basis": alarm.location_basis or None,
            "position_at": iso(alarm.position_at),
            "instructions": alarm.template.instructions,
            "responders": (responders(alarm) if known_responders is None
                           else known_responders)}


def update_event(alarm: Alarm, kind: str, **extra) -> dict:
    return {"type": "alarm_update", "alarm_id": alarm.pk, "kind": kind, "state": alarm.state,
            **extra}


NOBODY_COMING_TEXT = "Niemand hat zugesagt – rufen Sie 110"
EMERGENCY_NUMBER = "110"


def nobody_coming_event(alarm: Alarm, *, reason: str, delivered: int) -> dict:
    """Only to the sender: no "Ich komme" once the plan is exhausted ("exhausted"), or nobody
    reachable at all ("unreached")."""
    return update_event(alarm, "nobody_coming", text=NOBODY_COMING_TEXT,
                        call=EMERGENCY_NUMBER, reason=reason, delivered=delivered)


def message_event(message, role: str) -> dict:
    return {"type": "message", "alarm_id": message.alarm_id, "message_id": message.pk,
            "from": {"name": message.author_label, "role": role}, "text": message.text,
            "at": iso(message.at)}
