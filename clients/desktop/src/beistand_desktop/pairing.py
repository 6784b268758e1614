"""Pairing a workstation: a token pasted by hand or read from the admin's QR code.

The QR code (or the link next to it) carries ``beistand://pair?server=URL&token=bsd_…``.
"""

from __future__ import annotations

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
