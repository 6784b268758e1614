"""Typed readers for environment variables, used only by ``beistand.settings``.

A malformed value stops start-up with a message naming the variable, rather than running with a
silently wrong configuration.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on", "ja"}
_FALSE = {"0", "false", "no", "off", "nein", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...], *,
               upper: bool = False) -> str:
    """One of ``choices`` (compared without surrounding blanks and case-insensitively; returned
    in the spelling of ``choices``). Unset or empty means ``default``."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().upper() if upper else raw.strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(choices)}; got {raw!r}")
    return value


def env_choices(name: str, default: list[str], choices: tuple[str, ...]) -> list[str]:
    """A comma-separated list of values from ``choices`` (see ``env_list``)."""
    values = env_list(name, default)
    wrong = [v for v in values if v not in choices]
    if wrong:
        raise ImproperlyConfigured(
            f"{name} takes a comma-separated list of {', '.join(choices)}; "
            f"got {', '.join(repr(w) for w in wrong)}")
    return values
