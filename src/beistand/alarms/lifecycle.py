"""The alarm lifecycle as data: its states, the events that move it, the allowed moves and the
set of open states, each defined once here and enforced in one function, ``move``.

    countdown ──countdown_end──▶ triggered ──acknowledge──▶ acknowledged ─┐ acknowledge
        │                            │                          │  ◀──────┘
        ├──cancel──▶ cancelled       └───────resolve────────────┴──resolve──▶ resolved
        └──resolve─────────────────────────────────────────────────────────▶ resolved

An alarm is born in ``countdown`` (with a Vorlauf) or ``triggered`` (``initial``). Everything
else about an alarm (tiers, deadlines, receivers' responses) is bookkeeping inside a state, not
a move. The module is the bottom of the alarms app: it imports no alarms module (the model
takes its ``State`` choices from here).
"""

from enum import StrEnum

from django.db import models

from beistand.core.errors import Conflict


class State(models.TextChoices):
    COUNTDOWN = "countdown", "Vorlauf (noch abbrechbar)"
    TRIGGERED = "triggered", "ausgelöst"
    ACKNOWLEDGED = "acknowledged", "Hilfe kommt"
    RESOLVED = "resolved", "Entwarnung"
    CANCELLED = "cancelled", "abgebrochen"


class Event(StrEnum):
    COUNTDOWN_END = "countdown_end"  # the Vorlauf ran out: the alarm goes out
    ACKNOWLEDGE = "acknowledge"      # a receiver answered "coming"
    RESOLVE = "resolve"              # all-clear (Entwarnung)
    CANCEL = "cancel"                # the sender broke off the Vorlauf


# (state, event) -> next state. Every pair not listed is refused.
MOVES: dict[tuple[State, Event], State] = {
    (State.COUNTDOWN, Event.COUNTDOWN_END): State.TRIGGERED,
    (State.COUNTDOWN, Event.CANCEL): State.CANCELLED,
    (State.COUNTDOWN, Event.RESOLVE): State.RESOLVED,
    (State.TRIGGERED, Event.ACKNOWLEDGE): State.ACKNOWLEDGED,
    (State.TRIGGERED, Event.RESOLVE): State.RESOLVED,
    (State.ACKNOWLEDGED, Event.ACKNOWLEDGE): State.ACKNOWLEDGED,
    (State.ACKNOWLEDGED, Event.RESOLVE): State.RESOLVED,
}

# Open: an alarm that still needs someone (the receive window, escalation, the sender's
# position). The only place these states are listed.
OPEN: frozenset[State] = frozenset({State.COUNTDOWN, State.TRIGGERED, State.ACKNOWLEDGED})
FINAL: frozenset[State] = frozenset(State) - OPEN

# The German refusal per event, when the caller has no more specific one.
REFUSED = {
    Event.COUNTDOWN_END: "Der Vorlauf dieses Alarms läuft nicht (mehr).",
    Event.ACKNOWLEDGE: "Dieser Alarm ist nicht (mehr) aktiv.",
    Event.RESOLVE: "Dieser Alarm ist bereits beendet.",
    Event.CANCEL: "Abbrechen geht nur im Vorlauf.",
}


def initial(countdown: bool) -> State:
    """The state a new alarm is stored in."""
    return State.COUNTDOWN if countdown else State.TRIGGERED


def allows(state: str, event: Event) -> bool:
    return (State(state), event) in MOVES


def move(alarm, event: Event, refused: str = "") -> State:
    """Move ``alarm`` (anything with a ``state``) by ``event``; the caller saves it in its
    transaction. A move the table does not allow raises ``Conflict`` and changes nothing."""
    target = MOVES.get((State(alarm.state), event))
    if target is None:
        raise Conflict(refused or REFUSED[event])
    alarm.state = target
    return target
