"""``/ws/v1/alarms``: the alarm WebSocket as a plain ASGI application.

Plain ASGI rather than a Channels consumer: one coroutine and one small ``Connection`` per
client, no channel-layer subscription, so ten thousand idle clients fit in a few hundred MB.
Authentication: a bearer token (``Authorization`` header, or the ``beistand.bearer.<token>``
subprotocol from browsers; never the URL) of a person or a device, else the browser session
cookie. The protocol is documented in docs/alarm-protocol.md.
"""

import asyncio
import json
import logging
import time
from http.cookies import SimpleCookie

from django.conf import settings
from django.utils import timezone

from beistand.accounts.services import (
    device_for_token,
    user_for_api_token,
    user_for_connection,
    user_for_session_key,
)
from beistand.accounts.tokens import accepted_subprotocol, bearer_from_handshake
from beistand.alarms import payloads, presence, server, services, store
from beistand.alarms.hub import HUB, Connection
from beistand.core.errors import AccessDenied, DomainError
from beistand.organisation import services as org

logger = logging.getLogger("beistand.alarms")

RESUME_GRACE_SECONDS = 2.0
MAX_FRAME = 8192


def _token_from(scope) -> str:
    return bearer_from_handshake(scope)


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
    if token:
        user = user_for_api_token(token)
        if user is not None:
            inbox = store.inbox_for_user(user)
            return {"inbox": inbox, "user_id": user.pk, "device_id": None,
                    "label": org.display_name(user), "token_kind": "user",
                    "token_ref": user.api_token.pk,
                    "coverage": _coverage_key(user)}
        device = device_for_token(token)
        if device is not None:
            inbox = store.inbox_for_device(device)
            label = org.display_name(device.user) if device.user_id else f"Gerät {device.name}"
            return {"inbox": inbox, "user_id": device.user_id, "device_id": device.pk,
                    "label": label, "token_kind": "device", "token_ref": device.pk,
                    "coverage": _coverage_key(device.user) if device.user_id else None}
        return None
    if session_key:
        user = _session_user(session_key)
        if user is not None:
            inbox = store.inbox_for_user(user)
            return {"inbox": inbox, "user_id": user.pk, "device_id": None,
                    "label": org.display_name(user),
                    "token_kind": "session", "token_ref": session_key,
                    "coverage": _coverage_key(user)}
    return None


def _coverage_key(user) -> tuple | None:
    """Where the person's alarm plan is resolved from (room, unit): the place of the coverage
    frames this connection gets; None for an account without an employee record."""
    emp = getattr(user, "employee", None)
    return (emp.room_id, emp.unit_id) if emp is not None else None


def _session_user(session_key: str):
    # The same rule as HTTP, second factor included (accounts.services.user_for_session).
    return user_for_session_key(session_key)


def _error(code: str, detail: str, request_id=None) -> str:
    frame = {"type": "error", "code": code, "detail": detail}
    if request_id is not None:
        frame["request_id"] = request_id
    return json.dumps(frame, ensure_ascii=False)


async def alarm_socket(scope, receive, send):
    server.ensure_started()
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    try:
        who = await HUB.db(_authenticate, _token_from(scope), _session_key(scope))
    except Exception:
        logger.exception("Anmeldung an der Alarm-Verbindung fehlgeschlagen")
        who = None
    await send({"type": "websocket.accept", "subprotocol": accepted_subprotocol(scope)})
    if who is None:
        await send({"type": "websocket.close", "code": 4401})
        return
    inbox = who["inbox"]
    conn = Connection(HUB, send, inbox.pk, user_id=who["user_id"], device_id=who["device_id"],
                      label=who["label"], acked_seq=inbox.acked_seq,
                      token_kind=who["token_kind"], token_ref=who["token_ref"])
    HUB.add(conn)
    HUB.coverage.track(conn, who.get("coverage"))
    try:
        conn.send_text(json.dumps({
            "type": "hello", "inbox": inbox.pk, "epoch": inbox.epoch, "name": who["label"],
            "last_event_id": inbox.last_seq, "heartbeat_s": settings.ALARM_HEARTBEAT_SECONDS,
            "server_time": payloads.iso(timezone.now())}, ensure_ascii=False))
        conn.want_seq = inbox.last_seq
        last_seq = inbox.last_seq
        epoch = conn.epoch = inbox.epoch

        def default_resume():
            if not conn.resumed and not conn.closed:
                conn.resume(conn.acked_seq)

        conn.resume_timer = asyncio.get_running_loop().call_later(RESUME_GRACE_SECONDS,
                                                                  default_resume)
        while True:
            # Flow control: a peer that does not read what it is sent is not read either (every
            # ping would queue a pong without bound); if it stays deaf, its heartbeat ends it.
            await conn.readable()
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                break
            if kind != "websocket.receive":
                continue
            conn.last_rx = time.monotonic()
            text = message.get("text")
            if text is None:
                conn.send_text(_error("bad_frame", "Nur JSON-Textnachrichten sind erlaubt.",
                                      _request_id_of(message.get("bytes") or b"")))
                continue
            await _handle(conn, text, last_seq, epoch)
    finally:
        HUB.remove(conn)
        if conn.seat_reported:
            await HUB.db(presence.report_seat, inbox.pk, conn.seat_key, None)
            HUB.coverage.inbox_changed(inbox.pk)


def _request_id_of(data: bytes):
    """The request_id of a binary frame holding JSON, if it can be read (to echo it)."""
    if len(data) > MAX_FRAME:
        return None
    try:
        frame = json.loads(data)
    except (ValueError, RecursionError):
        return None
    request_id = frame.get("request_id") if isinstance(frame, dict) else None
    return request_id if isinstance(request_id, str) and len(request_id) <= 64 else None


async def _handle(conn: Connection, text: str, last_seq_at_connect: int, epoch: str) -> None:
    if len(text) > MAX_FRAME:
        conn.send_text(_error("bad_frame", "Nachricht zu groß."))
        return
    try:
        frame = json.loads(text)
    except (ValueError, RecursionError):  # deep nesting: RecursionError
        conn.send_text(_error("bad_frame", "Kein gültiges JSON."))
        return
    # The frame's request_id is echoed on every answer to it, a bad_frame too, whenever it can
    # be read: a JSON object with a request_id that is a text of at most 64 characters.
    request_id = frame.get("request_id") if isinstance(frame, dict) else None
    readable = request_id if isinstance(request_id, str) and len(request_id) <= 64 else None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        conn.send_text(_error("bad_frame", "Erwartet wird ein JSON-Objekt mit „type“.",
                              readable))
        return
    if request_id is not None and readable is None:
        conn.send_text(_error("bad_frame", "request_id muss ein Text bis 64 Zeichen sein."))
        return
    kind = frame["type"]
    try:
        if kind == "pong":
            return
        if kind == "ping":
            conn.send_text(json.dumps({"type": "pong", "request_id": request_id})
                           if request_id is not None else '{"type": "pong"}')
            return
        if kind == "receipt":
            conn.receipt(_int(frame, "event_id"))
        elif kind == "resume":
            _resume(conn, frame, last_seq_at_connect, epoch)
        elif kind == "seat":
            sound, detail = frame.get("sound"), frame.get("detail", "")
            locked = frame.get("locked", False)
            if not isinstance(sound, bool) or not isinstance(detail, str) \
                    or not isinstance(locked, bool):
                raise _BadFrame("„sound“ und „locked“ sind true/false, „detail“ ein Text.")
            conn.seat_reported = True
            await conn.hub.db(presence.report_seat, conn.inbox_id, conn.seat_key,
                              {"sound": sound, "detail": detail[:200], "locked": locked})
            conn.hub.coverage.inbox_changed(conn.inbox_id)
        elif kind in ("respond", "message", "position", "resolve"):
            await _command(conn, kind, frame)
        else:
            conn.send_text(_error("bad_frame", f"Unbekannter Nachrichtentyp „{kind}“.",
                                  request_id))
            return
    except _BadFrame as exc:
        conn.send_text(_error("bad_frame", str(exc), request_id))
        return
    except _Reauthenticate:
        # The token or session no longer carries this person (revoked, logged out, or a
        # privileged role now needs the second factor): 4401, the client signs in again.
        conn.closed = True
        await conn.send({"type": "websocket.close", "code": 4401})
        return
    except DomainError as exc:
        code = {403: "forbidden", 404: "not_found", 409: "conflict"}.get(exc.status, "invalid")
        if kind in ("respond", "message") and exc.status == 403 and conn.user_id is not None \
                and conn.token_kind != "device":
            code = "not_part_of_alarm"  # a refusal is never bad_frame (that is for malformed)
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


class _Reauthenticate(Exception):
    """The connection's token or session no longer carries the person (checked per command)."""


def _resume(conn: Connection, frame: dict, last_seq_at_connect: int, epoch: str) -> None:
    """``resume``: continue after the client's ``last_event_id`` - unless its numbering is not
    this inbox's (another ``epoch``: a restored database, another inbox after re-pairing, a
    reset inbox) or it is ahead of what was ever stored here. Then a ``reset`` frame tells the
    client to take ``resume_from`` as its last processed event and the events after it (those
    this inbox has no receipt for) follow; without it the client would drop new events as
    duplicates."""
    last = _int(frame, "last_event_id")
    client_epoch = frame.get("epoch")
    if client_epoch is not None and (not isinstance(client_epoch, str)
                                     or len(client_epoch) > 64):
        raise _BadFrame("„epoch“ muss ein Text bis 64 Zeichen sein.")
    last_known = max(last_seq_at_connect, conn.want_seq)
    reason = ("epoch" if client_epoch and client_epoch != epoch
              else "ahead" if last > last_known else None)
    if reason is None:
        conn.resume(last)
        return
    resume_from = min(conn.acked_seq, last_known)
    conn.send_text(json.dumps({"type": "reset", "reason": reason, "epoch": epoch,
                               "last_event_id": last_known, "resume_from": resume_from}))
    conn.resume(resume_from)


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


DEVICE_CANNOT_ACT = ("Ein Gerät kann Alarme nur auslösen und empfangen. Antworten, Nachrichten "
                     "und die Entwarnung gibt eine Person mit ihrer eigenen Anmeldung (App oder "
                     "Browser).")


async def _command(conn: Connection, kind: str, frame: dict) -> None:
    # A device token carries no person's rights, even when bound to a person: it triggers (the
    # trigger URL) and receives. Acting as a person needs that person's own login, checked
    # again for every command (issue 16).
    if conn.token_kind == "device" or conn.user_id is None:
        raise AccessDenied(DEVICE_CANNOT_ACT)
    if kind == "position":
        lat, lon = _number(frame, "lat"), _number(frame, "lon")
        acc = _number(frame, "accuracy_m", required=False)
        await conn.hub.db(_as_user, conn, services.update_position, lat, lon, acc)
        return
    alarm_id = _int(frame, "alarm_id")
    if kind == "respond":
        response = frame.get("response")
        if response not in ("coming", "cannot"):
            raise _BadFrame("„response“ ist „coming“ oder „cannot“.")
        await conn.hub.db(_as_user, conn, services.respond, alarm_id, response)
    elif kind == "message":
        text = frame.get("text")
        if not isinstance(text, str):
            raise _BadFrame("„text“ muss ein Text sein.")
        await conn.hub.db(_as_user, conn, services.post_message, alarm_id, text)
    elif kind == "resolve":
        note = frame.get("note", "")
        if not isinstance(note, str):
            raise _BadFrame("„note“ muss ein Text sein.")
        await conn.hub.db(_as_user, conn, services.resolve, alarm_id, note)


def _as_user(conn: Connection, fn, *args):
    """Run ``fn`` as the connection's person - if its token or session still carries them now
    (revoked, logged out, a privileged role granted since the handshake that needs the second
    factor: ``_Reauthenticate``)."""
    user = user_for_connection(conn.token_kind, conn.token_ref, conn.user_id)
    if user is None:
        raise _Reauthenticate()
    return fn(user, *args)
