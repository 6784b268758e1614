"""Creation and hashing of bearer secrets. Only hashes are stored. Tokens are kept out of URLs
(WebSockets carry them in ``Sec-WebSocket-Protocol``) and out of every log line."""

import hashlib
import logging
import re
import secrets

from beistand.core.logscrub import ScrubSecrets

USER_TOKEN_PREFIX = "bst_"
DEVICE_TOKEN_PREFIX = "bsd_"
# WebSocket authentication from a browser, which cannot set headers on the handshake: the client
# offers the subprotocols ``beistand.v1`` and ``beistand.bearer.<token>``; the server answers
# ``beistand.v1``. A header is never written to an access log, a URL is.
WS_PROTOCOL = "beistand.v1"
WS_BEARER_PROTOCOL_PREFIX = "beistand.bearer."

_TOKEN_RE = re.compile(r"(bs[td]_)[A-Za-z0-9_\-]{4,}")
REDACTED = "[entfernt]"


def new_secret(kind_prefix: str) -> tuple[str, str, str]:
    """Return (clear token, display prefix, sha256 hex) for a new random token."""
    clear = kind_prefix + secrets.token_urlsafe(32)
    return clear, clear[:12], hash_secret(clear)


def hash_secret(clear: str) -> str:
    return hashlib.sha256(clear.encode("utf-8")).hexdigest()


def redact(text: str) -> str:
    """``text`` with every bearer token replaced by its kind (``bst_[entfernt]``)."""
    return _TOKEN_RE.sub(lambda m: m.group(1) + REDACTED, text)


def bearer_from_handshake(scope) -> str:
    """The bearer token of a WebSocket handshake: ``Authorization: Bearer …`` (native clients)
    or the ``beistand.bearer.<token>`` subprotocol (browsers). A token in the query string is
    ignored: URLs end up in access logs."""
    token = ""
    for protocol in scope.get("subprotocols") or ():
        if protocol.startswith(WS_BEARER_PROTOCOL_PREFIX):
            token = protocol[len(WS_BEARER_PROTOCOL_PREFIX):]
    for name, value in scope.get("headers", []):
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            token = value[7:].decode("latin-1").strip()
    return token


def accepted_subprotocol(scope) -> str | None:
    """The subprotocol to answer in the handshake (a browser that offered subprotocols closes
    the connection unless the server picks one)."""
    return WS_PROTOCOL if WS_PROTOCOL in (scope.get("subprotocols") or ()) else None


class RedactTokens(ScrubSecrets):
    """Logging filter: no bearer token in any log line (a URL an old client or a device trigger
    call sent, a message that quotes a path), nor any other secret: the settings' filter
    (``core/logscrub.py``: messages, tracebacks, extras) for loggers outside ``LOGGING``."""


def install_log_redaction() -> None:
    """Put ``RedactTokens`` on the handlers of the root logger (Django's and beistand's own lines
    propagate there) and on uvicorn's loggers (access log and the WebSocket "accepted" lines,
    which do not propagate). Logger filters survive uvicorn's later logging configuration."""
    redactor = RedactTokens()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, ScrubSecrets) for f in handler.filters):
            handler.addFilter(redactor)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubSecrets) for f in logger.filters):
            logger.addFilter(redactor)
        for handler in logger.handlers:
            if not any(isinstance(f, ScrubSecrets) for f in handler.filters):
                handler.addFilter(redactor)
