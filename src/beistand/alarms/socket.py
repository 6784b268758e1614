"""``/ws/v1/alarms``: the alarm WebSocket as a plain ASGI application.

Plain ASGI rather than a Channels consumer: one coroutine and one small ``Connection`` per
client, no channel-layer subscription, so ten thousand idle clients fit in a few hundred MB.
Authentication: a bearer token (header or ``?token=``) of a person or a device, else the browser
session cookie. The protocol is documented in docs/alarm-protocol.md.
"""

import asyncio
import json
import logging
import time
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from django.conf import settings
from django.utils import timezone

from beistand.alarms.hub import HUB, Connection
from beistand.core.errors import DomainError

logger = logging.getLogger("beistand.alarms")

RESUME_GRACE_SECONDS = 2.0
MAX_FRAME = 8192


def _token_from(scope) -> str:
    token = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            token = value[7:].decode("latin-1").strip()
    return token


def _session_key(scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            cookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:
                return ""
            morsel = cookie.get(settings.SESSION_COOKIE_NAME)
            return morsel.value if morsel else ""
    return ""


def _authenticate(token: str, session_key: str) -> dict | None:
    """-> receiver description, or None. Runs on a database thread."""
    from beistand.accounts.services import device_for_token, user_for_api_token
    from beistand.alarms import store

    if token:
        user = user_for_api_token(token)
        if user is not None:
            inbox = store.inbox_for_user(user)
            return {"inbox": inbox, "user_id": user.pk, "device_id": None,
                    "label": _name(user), "token_kind": "user", "token_ref": user.api_token.pk}
        device = device_for_token(token)
        if device is not None:
            inbox = store.inbox_for_device(device)
            label = _name(device.user) if device.user_id else f"Gerät {device.name}"
            return {"inbox": inbox, "user_id": device.user_id, "device_id": device.pk,
                    "label": label, "token_kind": "device", "token_ref": device.pk}
        return None
    if session_key:
        user = _session_user(session_key)
        if user is not None:
            inbox = store.inbox_for_user(user)
            return {"inbox": inbox, "user_id": user.pk, "device_id": None, "label": _name(user),
                    "token_kind": "session", "token_ref": session_key}
    return None


def _session_user(session_key: str):
    from importlib import import_module

    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.utils.crypto import constant_time_compare

    engine = import_module(settings.SESSION_ENGINE)
    session = engine.SessionStore(session_key)
    user_id = session.get(SESSION_KEY)
    if user_id is None or BACKEND_SESSION_KEY not in session:
        return None
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    if not constant_time_compare(session.get(HASH_SESSION_KEY, ""),
                                 user.get_session_auth_hash()):
        return None
    return user


def _name(user) -> str:
    emp = getattr(user, "employee", None)
    return emp.full_name if emp is not None else (user.get_full_name() or user.get_username())


def _error(code: str, detail: str, request_id=None) -> str:
    frame = {"type": "error", "code": code, "detail": detail}
    if request_id is not None:
        frame["request_id"] = request_id
    return json.dumps(frame, ensure_ascii=False)


async def alarm_socket(scope, receive, send):
    HUB.ensure_started()
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    engine = HUB.engine
    try:
        who = await engine.db(_authenticate, _token_from(scope), _session_key(scope))
    except Exception:
        logger.exception("Anmeldung an der Alarm-Verbindung fehlgeschlagen")
        who = None
    await send({"type": "websocket.accept"})
    if who is None:
        await send({"type": "websocket.close", "code": 4401})
        return
    inbox = who["inbox"]
    conn = Connection(HUB, send, inbox.pk, user_id=who["user_id"], device_id=who["device_id"],
                      label=who["label"], acked_seq=inbox.acked_seq,
                      token_kind=who["token_kind"], token_ref=who["token_ref"])
    HUB.add(conn)
    try:
        conn.send_text(json.dumps({
            "type": "hello", "inbox": inbox.pk, "name": who["label"],
            "last_event_id": inbox.last_seq, "heartbeat_s": settings.ALARM_HEARTBEAT_SECONDS,
            "server_time": timezone.now().isoformat()}, ensure_ascii=False))
        conn.want_seq = inbox.last_seq
        last_seq = inbox.last_seq

        def default_resume():
            if not conn.resumed and not conn.closed:
                conn.resume(conn.acked_seq)

        conn.resume_timer = asyncio.get_running_loop().call_later(RESUME_GRACE_SECONDS,
                                                                  default_resume)
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                break
            if kind != "websocket.receive":
                continue
            conn.last_rx = time.monotonic()
            text = message.get("text")
            if text is None:
                conn.send_text(_error("bad_frame", "Nur JSON-Textnachrichten sind erlaubt."))
                continue
            await _handle(conn, text, last_seq)
    finally:
        HUB.remove(conn)


async def _handle(conn: Connection, text: str, last_seq_at_connect: int) -> None:
    if len(text) > MAX_FRAME:
        conn.send_text(_error("bad_frame", "Nachricht zu groß."))
        return
    try:
        frame = json.loads(text)
    except ValueError:
        conn.send_text(_error("bad_frame", "Kein gültiges JSON."))
        return
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        conn.send_text(_error("bad_frame", "Erwartet wird ein JSON-Objekt mit „type“."))
        return
    request_id = frame.get("request_id")
    if request_id is not None and (not isinstance(request_id, str) or len(request_id) > 64):
        conn.send_text(_error("bad_frame", "request_id muss ein Text bis 64 Zeichen sein."))
        return
    kind = frame["type"]
    try:
        if kind == "pong":
            return
        if kind == "ping":
            conn.send_text('{"type": "pong"}')
            return
        if kind == "receipt":
            conn.receipt(_int(frame, "event_id"))
        elif kind == "resume":
            last = _int(frame, "last_event_id")
            # A client cannot have seen more than was stored; a larger number (a restored
            # database) would hide new events from it.
            last_known = max(last_seq_at_connect, conn.want_seq)
            conn.resume(min(last, last_known))
        elif kind in ("respond", "message", "position", "resolve"):
            await _command(conn, kind, frame)
        else:
            conn.send_text(_error("bad_frame", f"Unbekannter Nachrichtentyp „{kind}“.",
                                  request_id))
            return
    except _BadFrame as exc:
        conn.send_text(_error("bad_frame", str(exc), request_id))
        return
    except DomainError as exc:
        code = {403: "not_part_of_alarm", 404: "not_found", 409: "conflict"}.get(
            exc.status, "invalid")
        conn.send_text(_error(code, exc.detail, request_id))
        return
    except Exception:
        logger.exception("Alarm-Nachricht %s fehlgeschlagen", kind)
        conn.send_text(_error("server_error", "Die Aktion ist fehlgeschlagen; bitte erneut "
                                              "versuchen.", request_id))
        return
    if request_id is not None:
        conn.send_text(json.dumps({"type": "result", "request_id": request_id, "ok": True}))


class _BadFrame(Exception):
    pass


def _int(frame, name) -> int:
    value = frame.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise _BadFrame(f"„{name}“ muss eine nicht-negative ganze Zahl sein.")
    return value


def _number(frame, name, required=True):
    value = frame.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise _BadFrame(f"„{name}“ muss eine Zahl sein.")
    return float(value)


async def _command(conn: Connection, kind: str, frame: dict) -> None:
    from beistand.alarms import services

    if conn.user_id is None:
        raise _BadFrame("Dieses Gerät ist keiner Person zugeordnet und kann nur empfangen.")
    user_id = conn.user_id
    if kind == "position":
        lat, lon = _number(frame, "lat"), _number(frame, "lon")
        acc = _number(frame, "accuracy_m", required=False)
        await conn.hub.engine.db(_as_user, user_id, services.update_position, lat, lon, acc)
        return
    alarm_id = _int(frame, "alarm_id")
    if kind == "respond":
        response = frame.get("response")
        if response not in ("coming", "cannot"):
            raise _BadFrame("„response“ ist „coming“ oder „cannot“.")
        await conn.hub.engine.db(_as_user, user_id, services.respond, alarm_id, response)
    elif kind == "message":
        text = frame.get("text")
        if not isinstance(text, str):
            raise _BadFrame("„text“ muss ein Text sein.")
        await conn.hub.engine.db(_as_user, user_id, services.post_message, alarm_id, text)
    elif kind == "resolve":
        note = frame.get("note", "")
        if not isinstance(note, str):
            raise _BadFrame("„note“ muss ein Text sein.")
        await conn.hub.engine.db(_as_user, user_id, services.resolve, alarm_id, note)


def _as_user(user_id, fn, *args):
    from django.contrib.auth import get_user_model

    user = get_user_model()._default_manager.select_related("employee").get(pk=user_id)
    return fn(user, *args)
