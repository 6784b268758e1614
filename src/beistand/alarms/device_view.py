"""What a device without a person (a workstation, desk phone or button hub bound to a room)
receives over the alarm WebSocket: what its room needs to alert and direct help - the alarm,
its template, state, times and where it is (room, building) - and no person's data: no names,
phone numbers, free texts (messages, notes), responders' names or live positions.
A device bound to a person gets what that person gets (issue 16, finding 16)."""

import json

_EMPTY_SENDER = {"first_name": "", "last_name": "", "name": "", "phone": None, "mobile": None}
_PERSONAL_UPDATE_TEXTS = ("by", "note")


def _responders(rows) -> list:
    return [{"name": "", "response": r.get("response"), "at": r.get("at")}
            for r in rows or () if isinstance(r, dict)]


def _location(location):
    if not isinstance(location, dict):
        return location
    # The live position of a person and what they typed stay with the people on the alarm.
    return {**location, "position": None, "text": ""}


def redact(text: str) -> str:
    """The event frame ``text`` as a device without a person may see it."""
    try:
        frame = json.loads(text)
    except ValueError:
        return text
    if not isinstance(frame, dict):
        return text
    kind = frame.get("type")
    if kind == "alarm":
        sender = frame.get("sender") or {}
        frame["sender"] = {**_EMPTY_SENDER, "unit": sender.get("unit")}
        frame["responders"] = _responders(frame.get("responders"))
        frame["location"] = _location(frame.get("location"))
    elif kind == "alarm_update":
        for key in _PERSONAL_UPDATE_TEXTS:
            if key in frame:
                frame[key] = ""
        if isinstance(frame.get("responder"), dict):
            frame["responder"] = {**frame["responder"], "name": ""}
        if "position" in frame:
            frame["position"] = None
        if frame.get("kind") == "help_coming":
            frame["text"] = "Hilfe kommt"
        if "responders" in frame:
            frame["responders"] = _responders(frame.get("responders"))
    elif kind == "message":
        frame["from"] = {"name": "", "role": (frame.get("from") or {}).get("role")}
        frame["text"] = ""
    return json.dumps(frame, ensure_ascii=False)
