"""The token: in the OS keyring where one works, else in a file only the owner may read (0600).

Windows: Credential Manager; macOS: Keychain; Linux desktop: Secret Service (GNOME Keyring,
KWallet). A system service (the button daemon) has no keyring session: there the file
fallback is used (``/var/lib/beistand-desktop/state/token``, owner root or the service user).
``BEISTAND_DESKTOP_KEYRING=0`` forces the file (used by the tests).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)
SERVICE = "beistand-desktop"


def _keyring():
    if os.environ.get("BEISTAND_DESKTOP_KEYRING", "1") == "0":
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:
        return None
    if isinstance(backend, fail.Keyring) or ("chainer" in type(backend).__module__ and \
            not getattr(backend, "backends", None)):
        return None
    return keyring


class TokenStore:
    def __init__(self, token_file: Path, server: str = ""):
        self.token_file = token_file
        self.account = server or "default"

    def save(self, token: str) -> str:
        """Stores the token; returns where ("keyring" or "file")."""
        kr = _keyring()
        if kr is not None:
            try:
                kr.set_password(SERVICE, self.account, token)
                if self.token_file.exists():
                    self.token_file.unlink()
                return "keyring"
            except Exception as exc:
                log.warning("keyring not usable (%s), storing the token in a file", exc)
        write_private(self.token_file, token)
        return "file"

    def load(self) -> str:
        kr = _keyring()
        if kr is not None:
            try:
                value = kr.get_password(SERVICE, self.account)
                if value:
                    return value
            except Exception as exc:
                log.warning("keyring not readable (%s)", exc)
        if self.token_file.exists():
            return self.token_file.read_text(encoding="utf-8").strip()
        return ""


def write_private(path: Path, text: str) -> None:
    """Writes a file readable only by its owner (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
