"""Pairing a workstation: a token pasted by hand or read from the admin's QR code, a user
login, or a one-time enrolment code (``ABCD-EFGH-JKLM``) that the server exchanges for a
device token of the seat the admin created it for.

The QR code (or the link next to it) carries ``beistand://pair?server=URL&token=bsd_…`` or
``beistand://pair?server=URL&code=ABCD-EFGH-JKLM``.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

TOKEN_PREFIXES = ("bsd_", "bst_")


class PairingError(ValueError):
    pass


@dataclass(frozen=True)
class Pairing:
    server: str
    token: str

    @property
    def is_device(self) -> bool:
        return self.token.startswith("bsd_")


ENROLMENT_CODE = re.compile(r"[A-Za-z0-9]{4}[- ]?[A-Za-z0-9]{4}[- ]?[A-Za-z0-9]{4}")


def is_enrolment_code(text: str) -> bool:
    text = (text or "").strip()
    return bool(ENROLMENT_CODE.fullmatch(text)) and not text.startswith(TOKEN_PREFIXES)


def _post(server: str, path: str, body: dict, timeout: float):
    """POST ``body`` as JSON; the response and its JSON object (``{}`` when it is none).
    An unreachable server is a ``PairingError``."""
    import httpx

    try:
        response = httpx.post(f"{normalise_server(server)}{path}", json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise PairingError(f"Server {server} nicht erreichbar ({type(exc).__name__}).") \
            from exc
    try:
        data = response.json()
    except ValueError:
        data = {}
    return response, data if isinstance(data, dict) else {}


def enrol(server: str, code: str, client_name: str | None = None,
          timeout: float = 10.0) -> str:
    """Exchanges a one-time enrolment code for a device token (``bsd_…``); the server burns
    the code. Raises ``TokenRefused`` with the server's German reason (unknown, expired,
    already used, too many attempts)."""
    body = {"code": code.strip(),
            "client_name": (client_name if client_name is not None
                            else socket.gethostname())[:60]}
    response, data = _post(server, "/api/v1/devices/enrol", body, timeout)
    if response.status_code != 201 or not data.get("token"):
        detail = data.get("detail")
        raise TokenRefused(f"Kopplungscode abgelehnt: {detail or response.reason_phrase}. "
                           "Nicht gekoppelt.")
    return data["token"]


def pairing_from(text: str, server: str = "") -> Pairing:
    """What the user typed or scanned: a link (with a token or a code), a bare token, or a
    one-time enrolment code (exchanged with the server now)."""
    text = (text or "").strip()
    if text.startswith("beistand://"):
        query = parse_qs(urlsplit(text).query)
        if query.get("code") and not query.get("token"):
            server = normalise_server((query.get("server") or [server])[0])
            return Pairing(server, enrol(server, query["code"][0]))
    elif is_enrolment_code(text):
        server = normalise_server(server)
        return Pairing(server, enrol(server, text))
    return parse_pairing(text, server)


def parse_pairing(text: str, server: str = "") -> Pairing:
    """A ``beistand://pair?…`` URI, or a bare token together with ``server``."""
    text = (text or "").strip()
    if text.startswith("beistand://"):
        parts = urlsplit(text)
        if parts.netloc != "pair" and parts.path.strip("/") != "pair":
            raise PairingError("Unbekannter Kopplungs-Link.")
        query = parse_qs(parts.query)
        server = (query.get("server") or [server])[0]
        token = (query.get("token") or [""])[0]
    else:
        token = text
    server = normalise_server(server)
    if not token.startswith(TOKEN_PREFIXES) or len(token) < 12 or any(c.isspace() for c in token):
        raise PairingError("Das ist kein gültiges Geräte- oder Benutzer-Token (bsd_… / bst_…).")
    return Pairing(server, token)


def normalise_server(server: str) -> str:
    server = (server or "").strip().rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise PairingError("Bitte die Server-Adresse mit http:// oder https:// angeben.")
    return server


class TokenRefused(PairingError):
    pass


async def check_token(server: str, token: str, timeout: float = 10.0) -> str:
    """Asks the server whether it accepts ``token`` (the WebSocket's ``hello`` or close 4401);
    returns the name the server knows the token by. Raises ``TokenRefused`` (the server says
    no) or ``PairingError`` (the server cannot be asked)."""
    import asyncio

    import websockets
    from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

    from . import protocol

    try:
        async with websockets.connect(
                protocol.ws_url(server), open_timeout=timeout, close_timeout=2,
                additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            first = protocol.decode(await asyncio.wait_for(ws.recv(), timeout))
    except ConnectionClosed as exc:
        if exc.rcvd is not None and exc.rcvd.code == protocol.CLOSE_UNAUTHORIZED:
            raise TokenRefused("Der Server nimmt dieses Token nicht an (unbekannt oder "
                               "widerrufen). Nicht gekoppelt.") from exc
        raise PairingError(f"Server {server} hat die Verbindung beendet.") from exc
    except InvalidStatus as exc:
        if exc.response.status_code in (401, 403):
            raise TokenRefused("Der Server nimmt dieses Token nicht an. Nicht gekoppelt.") \
                from exc
        raise PairingError(f"Server {server} antwortet mit HTTP "
                           f"{exc.response.status_code}.") from exc
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise PairingError(f"Server {server} nicht erreichbar ({type(exc).__name__}); "
                           "das Token konnte nicht geprüft werden.") from exc
    if not first or first.get("type") != "hello":
        raise PairingError(f"Server {server} spricht nicht das Alarmprotokoll.")
    return str(first.get("name") or "?")


def login(server: str, username: str, password: str, otp: str = "",
          timeout: float = 10.0) -> str:
    """A user token (``bst_…``) for the person's login (and second factor where required)."""
    body = {"username": username, "password": password, "name": "beistand-desktop"}
    if otp:
        body["otp"] = otp
    response, data = _post(server, "/api/v1/auth/token", body, timeout)
    if response.status_code not in (200, 201) or not data.get("token"):
        detail = data.get("detail")
        raise TokenRefused(f"Anmeldung abgelehnt: {detail or response.reason_phrase}")
    return data["token"]
