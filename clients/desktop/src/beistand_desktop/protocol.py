"""Frames and URLs of the beistand alarm protocol (docs/alarm-protocol.md, v1)."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

WS_PATH = "/ws/v1/alarms"
CLOSE_UNAUTHORIZED = 4401
CLOSE_HEARTBEAT = 4408
SOURCES = ("desktop", "tray", "hotkey", "desktop_icon", "button", "app", "handsfree", "web",
           "sms", "phone")
EVENT_TYPES = ("alarm", "alarm_update", "message")


def ws_url(server: str) -> str:
    server = server.rstrip("/")
    if server.startswith("https://"):
        return "wss://" + server[len("https://"):] + WS_PATH
    if server.startswith("http://"):
        return "ws://" + server[len("http://"):] + WS_PATH
    raise ValueError(f"not an http(s) URL: {server}")


def is_device_token(token: str) -> bool:
    return token.startswith("bsd_")


def trigger_url(server: str, device_token: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    url = f"{server.rstrip('/')}/api/v1/trigger/{quote(device_token, safe='')}"
    return f"{url}?{query}" if query else url


def encode(frame: dict) -> str:
    return json.dumps(frame, ensure_ascii=False)


def decode(text: str | bytes) -> dict | None:
    try:
        frame = json.loads(text)
    except (ValueError, TypeError):
        return None
    return frame if isinstance(frame, dict) and isinstance(frame.get("type"), str) else None


def resume(last_event_id: int, epoch: str | None = None) -> dict:
    frame = {"type": "resume", "last_event_id": last_event_id}
    if epoch:
        frame["epoch"] = epoch  # the server answers "reset" when its numbering is another
    return frame


def receipt(event_id: int) -> dict:
    return {"type": "receipt", "event_id": event_id}


def is_event(frame: dict) -> bool:
    return frame.get("type") in EVENT_TYPES and isinstance(frame.get("event_id"), int)


def sender_name(alarm: dict) -> str:
    sender = alarm.get("sender") or {}
    return sender.get("name") or " ".join(
        p for p in (sender.get("first_name"), sender.get("last_name")) if p) or "Unbekannt"


def location_lines(alarm: dict) -> list[str]:
    """Room, floor, building, site – what a helper needs to find the sender."""
    loc = alarm.get("location") or {}
    lines = []
    room = loc.get("room")
    if room:
        name = loc.get("room_name")
        lines.append(f"Raum {room}" + (f" ({name})" if name else ""))
    where = ", ".join(p for p in (loc.get("floor"), loc.get("building"), loc.get("site")) if p)
    if where:
        lines.append(where)
    if loc.get("address"):
        lines.append(loc["address"])
    if loc.get("text"):
        lines.append(loc["text"])
    pos = loc.get("position")
    if not lines and pos:
        lines.append(f"Position {pos.get('lat'):.5f}, {pos.get('lon'):.5f}"
                     + (f" (± {pos['accuracy_m']} m)" if pos.get("accuracy_m") else ""))
    return lines or ["Ort unbekannt"]


def _text(value) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def normalise_alarm(alarm: dict) -> dict:
    """The alarm with every field the receive window reads in the type it expects.

    An alarm the window cannot show must not vanish: a field of another shape (a newer server,
    a bug) made the window's constructor raise inside a Qt slot - no window, no sound, no log
    line, and the event was already receipted. Unknown shapes become text or are left out;
    "Ort unbekannt" / "Unbekannt" are shown where nothing usable is left."""
    out = dict(alarm)
    template = alarm.get("template")
    out["template"] = (dict(template) if isinstance(template, dict)
                       else {"name": str(template)} if template else {})
    if not isinstance(out["template"].get("name"), str):
        out["template"]["name"] = "Alarm"
    sender = alarm.get("sender")
    sender = dict(sender) if isinstance(sender, dict) else {"name": _text(sender)}
    out["sender"] = {key: _text(value) for key, value in sender.items()}
    location = alarm.get("location")
    location = dict(location) if isinstance(location, dict) else {"text": _text(location)}
    position = location.pop("position", None)
    location = {key: _text(value) for key, value in location.items()}
    if isinstance(position, dict) and all(
            isinstance(position.get(k), int | float) for k in ("lat", "lon")):
        location["position"] = position
    out["location"] = location
    for key in ("instructions", "pressed_at", "triggered_at"):
        out[key] = _text(alarm.get(key))
    for key in ("distance_m", "tier"):
        if not isinstance(alarm.get(key), int | float):
            out[key] = None
    responders = alarm.get("responders")
    out["responders"] = [r for r in responders if isinstance(r, dict)] \
        if isinstance(responders, list) else []
    return out
