"""Selecting states from a workflow's state table.

The workflows (``reports.workflow``, ``reports.help_workflow``, ``register.rights_workflow``)
each keep the facts of their states as one table: a dict from state to a frozen dataclass of
facts. ``states_where`` answers "which states have these facts", in table order, for queries
(``status__in=…``) and checks; a misspelt fact name is an error, never an empty answer.
"""

from dataclasses import fields


def states_where(table: dict, **wanted) -> tuple[str, ...]:
    """The states of ``table`` whose facts have the given values, e.g. ``final=True``."""
    known = {f.name for facts in table.values() for f in fields(facts)}
    unknown = set(wanted) - known
    if unknown:
        raise TypeError(f"The state table has no fact {', '.join(sorted(unknown))}.")
    return tuple(state for state, facts in table.items()
                 if all(getattr(facts, name) == value for name, value in wanted.items()))
