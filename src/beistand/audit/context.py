"""Who is acting right now: set per request by middleware, per command by the CLI.

Services may pass an explicit actor; when they do not, the recorder falls back to this context,
and finally to the label ``system``.
"""

import contextlib
import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user: object | None
    label: str
    remote_addr: str = ""


SYSTEM = Actor(user=None, label="system")
_current: contextvars.ContextVar[Actor] = contextvars.ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


def actor_for_user(user, remote_addr: str = "") -> Actor:
    if user is None or not getattr(user, "is_authenticated", False):
        return Actor(user=None, label="anonymous", remote_addr=remote_addr)
    return Actor(user=user, label=user.get_username(), remote_addr=remote_addr)


def switch_actor(actor: Actor) -> None:
    """Replace the actor for the rest of the current context (a request whose user is known only
    after authentication, e.g. by an API token). The enclosing ``acting_as`` restores the old one
    when it ends."""
    _current.set(actor)


@contextlib.contextmanager
def acting_as(actor: Actor):
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
