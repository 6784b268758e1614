"""Help requests as data: the facts of each state and who may move a request where.

A help request (``HelpRequest``) is handled by the unit that owns its offer. That unit records
progress freely — any state to any state, also back from ``done`` when it was set by mistake —
and writes the note. The victim it is for may only withdraw it while it is open (``declined``).
``help.update_help_request`` decides who the caller is and leaves the rest to ``check``, the one
place where these moves are enforced. ``tests/reports/test_help_workflow.py`` walks the table.
"""

from dataclasses import dataclass

from beistand.core.errors import AccessDenied, Conflict, InvalidInput
from beistand.core.state_tables import states_where
from beistand.reports.models import HelpRequest

State = HelpRequest.State


@dataclass(frozen=True)
class StateFacts:
    """What holds for a help request while it is in one state."""

    # Still to be handled: asking for the same offer again returns it instead of a new request,
    # and the victim may withdraw it.
    open: bool = False
    granted: bool = False  # help is being or was given (statistics)


STATES: dict[str, StateFacts] = {
    State.REQUESTED: StateFacts(open=True),
    State.IN_PROGRESS: StateFacts(open=True, granted=True),
    State.DONE: StateFacts(granted=True),
    State.DECLINED: StateFacts(),
}


def facts(state: str) -> StateFacts:
    return STATES[state]


def states(**wanted) -> tuple[str, ...]:
    """The states whose facts have the given values, e.g. ``states(open=True)``."""
    return states_where(STATES, **wanted)


# Who may act: a member of the unit owning the offer, or the victim the request is for.
UNIT, VICTIM = "unit", "victim"


@dataclass(frozen=True)
class Actor:
    label: str
    writes_note: bool
    refusal: str  # why a move this actor may never make is refused


ACTORS: dict[str, Actor] = {
    UNIT: Actor("die zuständige Stelle", True, "Diese Änderung ist nicht möglich."),
    VICTIM: Actor("die betroffene Person", False,
                  "Die Anfrage bearbeitet die zuständige Stelle; Sie können sie nur "
                  "zurückziehen."),
}


@dataclass(frozen=True)
class Move:
    state: str
    next_state: str
    actor: str


MOVES: tuple[Move, ...] = (
    *(Move(state, next_state, UNIT) for state in STATES for next_state in STATES),
    *(Move(state, State.DECLINED, VICTIM) for state in states(open=True)),
)


def allowed(state: str, actor: str) -> tuple[str, ...]:
    """The states ``actor`` may move a request in ``state`` to, in table order."""
    return tuple(m.next_state for m in MOVES if m.state == state and m.actor == actor)


def check(request: HelpRequest, actor: str, next_state: str, note: str | None) -> None:
    """Raise unless ``actor`` may move ``request`` to ``next_state`` (writing ``note`` if given).

    A state that is none: 400. A move or a note this actor may never make: 403. A move this
    actor may make, but not from the request's current state: 409.
    """
    if next_state not in STATES:
        raise InvalidInput(f"Unbekannter Status (erlaubt: {', '.join(STATES)}).", field="state")
    who = ACTORS[actor]
    moves = [m for m in MOVES if m.actor == actor and m.next_state == next_state]
    if not moves or (note is not None and not who.writes_note):
        raise AccessDenied(who.refusal)
    if not any(m.state == request.state for m in moves):
        if not STATES[request.state].open:
            raise Conflict("Diese Anfrage ist bereits abgeschlossen.")
        raise Conflict(f"Im Status „{State(request.state).label}“ ist „"
                       f"{State(next_state).label}“ nicht möglich.")
