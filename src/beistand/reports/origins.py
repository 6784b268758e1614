"""Where a new report can start from besides the empty form: ``/meldungen/neu/?<name>=<id>``.

An app above reports (the silent alarm: "Vorfall melden" after the all-clear) registers an
``Origin`` at start-up. The report form asks it for initial data, and the service that creates
the report asks it to link the new report, in the same transaction. Reports never imports the
app that registered it.
"""

from collections.abc import Callable
from dataclasses import dataclass

from beistand.core.errors import InvalidInput


@dataclass(frozen=True)
class Origin:
    name: str                                   # the query parameter, e.g. "alarm"
    initial: Callable[[object, int], dict]      # (user, id) -> initial data of ReportForms
    link: Callable[[object, int, object], bool]  # (user, id, report) -> linked?
    invalid_id: str = "Ungültige Nummer."        # German message for an id that is no number


@dataclass(frozen=True)
class Source:
    """One origin with its object id: where this report starts."""

    origin: Origin
    id: int

    @property
    def query(self) -> str:
        return f"{self.origin.name}={self.id}"

    def initial(self, user) -> dict:
        return self.origin.initial(user, self.id)

    def link(self, user, report) -> bool:
        return self.origin.link(user, self.id, report)


_ORIGINS: dict[str, Origin] = {}


def register(origin: Origin) -> None:
    """Called from an app's ``ready()``."""
    _ORIGINS[origin.name] = origin


def _parse_id(origin: Origin, value: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(origin.invalid_id, field=origin.name)
    return int(value)


def from_query(query) -> Source | None:
    """The source named in the request's query (first registered origin present), or None.

    A value that is not a number is refused (InvalidInput)."""
    for name, origin in _ORIGINS.items():
        value = (query.get(name) or "").strip()
        if value:
            return Source(origin, _parse_id(origin, value))
    return None
