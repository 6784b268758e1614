"""Name and date matching for register look-ups (filled in by the matching work).

``rebuild_keys(person)`` must be called whenever a person's identity or addresses change.
"""


def rebuild_keys(person) -> None:
    """Replace the person's SearchKey rows (placeholder until the matching engine lands)."""
