"""Rights requests as data: the facts of each state and which move each kind of request allows.

A ``RightsRequest`` is ``open`` until the ZKS acts. The Art. 14 information (a duty, not a
request of the person) is deferred (again, with a new re-check date) or ends ``done`` when the
letter is sent; a request of the person (Art. 15-18, 21) is decided ``granted`` or ``refused``.
Which date makes an open request due, whether a decision letter exists and which states count as
open are facts of the state, read here by the services, the views, the API and the start page.
The Art. 14 information lapses (``lapsed``) when the person is erased before it went out
(``retention`` runs the move). ``rights.defer`` and ``rights.decide`` leave the moves to
``check``, the one place where they are enforced; ``tests/register/test_rights_workflow.py``
walks the table.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Q

from beistand.core.errors import Conflict, InvalidInput
from beistand.core.state_tables import states_where
from beistand.register.models import RightsRequest

Kind = RightsRequest.Kind
State = RightsRequest.State

# Kinds the ZKS records as a request of the person (Art. 14 is a duty, opened at publication).
REQUEST_KINDS = (Kind.ACCESS, Kind.RECTIFICATION, Kind.ERASURE, Kind.RESTRICTION, Kind.OBJECTION)
NOTIFICATION_KINDS = (Kind.NOTIFICATION,)


@dataclass(frozen=True)
class StateFacts:
    """What holds for a rights request while it is in one state."""

    open: bool = False        # still to be handled (the "open" list, the start page)
    # The date whose coming makes the request due: the Art. 12(3) deadline or the re-check date
    # of a deferral (DSG NRW § 11). None: nothing is due any more.
    due_field: str | None = None
    decided: bool = False     # granted or refused: the decision letter exists
    final: bool = False       # no move leads out


STATES: dict[str, StateFacts] = {
    State.OPEN: StateFacts(open=True, due_field="due_on"),
    State.DEFERRED: StateFacts(open=True, due_field="defer_until"),
    State.GRANTED: StateFacts(decided=True, final=True),
    State.REFUSED: StateFacts(decided=True, final=True),
    State.DONE: StateFacts(final=True),
    # The Art. 14 information of a person erased meanwhile: nobody left to inform.
    State.LAPSED: StateFacts(final=True),
}


def facts(state: str) -> StateFacts:
    return STATES[state]


def states(**wanted) -> tuple[str, ...]:
    """The states whose facts have the given values, e.g. ``states(open=True)``."""
    return states_where(STATES, **wanted)


def due_date(request: RightsRequest) -> date | None:
    """The date that counts for ``request`` now (deadline or re-check date), None when final."""
    name = STATES[request.state].due_field
    return getattr(request, name) if name else None


def is_due(request: RightsRequest, today: date) -> bool:
    """Whether the date that counts has come (on the day itself, too)."""
    when = due_date(request)
    return when is not None and when <= today


def due_filter(today: date) -> Q:
    """``is_due`` as a query condition."""
    q = Q(pk__in=[])
    for state, f in STATES.items():
        if f.due_field:
            q |= Q(state=state, **{f"{f.due_field}__lte": today})
    return q


def letter_exists(request: RightsRequest) -> bool:
    """The Art. 14 letter exists at once; every other letter is the decision's."""
    return request.kind in NOTIFICATION_KINDS or STATES[request.state].decided


# --- Moves ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Move:
    state: str
    action: str  # "defer" (rights.defer) or "decide" (rights.decide, next_state = decision)
    next_state: str
    kinds: tuple[str, ...]


MOVES: tuple[Move, ...] = (
    Move(State.OPEN, "defer", State.DEFERRED, NOTIFICATION_KINDS),
    Move(State.DEFERRED, "defer", State.DEFERRED, NOTIFICATION_KINDS),  # a new re-check date
    Move(State.OPEN, "decide", State.DONE, NOTIFICATION_KINDS),
    Move(State.DEFERRED, "decide", State.DONE, NOTIFICATION_KINDS),
    # The person was erased before the information went out (retention or Art. 17): the duty
    # lapses by itself ("lapse", run by the purge, never by hand).
    Move(State.OPEN, "lapse", State.LAPSED, NOTIFICATION_KINDS),
    Move(State.DEFERRED, "lapse", State.LAPSED, NOTIFICATION_KINDS),
    Move(State.OPEN, "decide", State.GRANTED, REQUEST_KINDS),
    Move(State.OPEN, "decide", State.REFUSED, REQUEST_KINDS),
)

# Why an action the kind does not have at all is refused.
NOT_FOR_KIND = {
    "defer": "Zurückstellen ist nur bei der Information nach Art. 14 möglich; andere Anträge "
             "werden entschieden (stattgegeben/abgelehnt).",
    "decide": "Dieser Antrag wird nicht entschieden.",
    "lapse": "Nur die Information nach Art. 14 entfällt mit der Löschung der Person.",
}
# How a kind's request is decided, when the decision given is not one of its own.
DECISION_HINT = {
    Kind.NOTIFICATION: "Die Information nach Art. 14 wird als versandt („done“) abgeschlossen "
                       "oder zurückgestellt.",
}


def decisions(kind: str) -> tuple[str, ...]:
    """The decisions (next states) ``rights.decide`` takes for a request of ``kind``."""
    return tuple(dict.fromkeys(m.next_state for m in MOVES
                               if m.action == "decide" and kind in m.kinds))


def check(request: RightsRequest, action: str, next_state: str) -> None:
    """Raise unless ``action`` may move ``request`` to ``next_state``.

    An action its kind does not have: 409. A final request: 409. A decision the kind does not
    take: 400 (field ``decision``). A move the table has, but not from the current state: 409.
    """
    rows = [m for m in MOVES if m.action == action and request.kind in m.kinds]
    if not rows:
        raise Conflict(NOT_FOR_KIND[action])
    if STATES[request.state].final:
        raise Conflict("Dieser Antrag ist bereits abgeschlossen.")
    if next_state not in {m.next_state for m in rows}:
        hint = DECISION_HINT.get(request.kind) or "Entscheidung muss " + " oder ".join(
            f"„{s}“ ({State(s).label})" for s in decisions(request.kind)) + " sein."
        raise InvalidInput(hint, field="decision")
    if not any(m.state == request.state and m.next_state == next_state for m in rows):
        raise Conflict(f"Im Status „{State(request.state).label}“ ist das nicht möglich.")
