"""Creation and hashing of bearer secrets. Only hashes are stored."""

import hashlib
import secrets

USER_TOKEN_PREFIX = "bst_"
DEVICE_TOKEN_PREFIX = "bsd_"


def new_secret(kind_prefix: str) -> tuple[str, str, str]:
    """Return (clear token, display prefix, sha256 hex) for a new random token."""
    clear = kind_prefix + secrets.token_urlsafe(32)
    return clear, clear[:12], hash_secret(clear)


def hash_secret(clear: str) -> str:
    return hashlib.sha256(clear.encode("utf-8")).hexdigest()
