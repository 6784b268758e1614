"""Disclosure control for count tables: primary and secondary cell suppression.

A table is a dict ``{key tuple: count}`` of its non-zero cells (``key`` has one value per
dimension). **Primary**: every cell with ``0 < count < k`` is withheld ("< k"). **Secondary**:
along every line of the table (all dimensions fixed but one) whose total is published (total ≥ k),
exactly one withheld cell could be recovered as *line total − visible cells*; so the smallest
visible cell of such a line is withheld too ("x"). Withholding a cell can create a new line with
a single withheld cell in another dimension, so this repeats until no line has exactly one.

Zero cells are not sensitive and never returned; the line totals are the tables of one dimension
less, which the same procedure protects when they are published themselves.
"""

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass, field

PRIMARY = "primary"
SECONDARY = "secondary"


def small_label(k: int) -> str:
    """How a primary-suppressed count is shown: "<5"."""
    return f"<{k}"


SECONDARY_LABEL = "x"


@dataclass
class Protected:
    """The outcome: the true cells (never shown as such) and which of them are withheld."""

    k: int
    cells: dict[tuple, int]
    withheld: dict[tuple, str] = field(default_factory=dict)  # key -> PRIMARY | SECONDARY

    def shown(self, key: tuple) -> int | str:
        """The value to publish for a cell: the count, "<k" or "x" (0 for absent cells)."""
        how = self.withheld.get(key)
        if how == PRIMARY:
            return small_label(self.k)
        if how == SECONDARY:
            return SECONDARY_LABEL
        return self.cells.get(key, 0)

    @property
    def suppressed(self) -> int:
        return len(self.withheld)


def protect(cells: dict[tuple, int], k: int) -> Protected:
    """Withhold small cells and, where a published line total would reveal one, a second cell."""
    cells = {key: n for key, n in cells.items() if n > 0}
    result = Protected(k=k, cells=cells)
    if k <= 1 or not cells:
        return result
    result.withheld = {key: PRIMARY for key, n in cells.items() if n < k}
    dims = len(next(iter(cells)))
    changed = True
    while changed:
        changed = False
        for axis in range(dims):
            for members in _lines(cells, axis).values():
                if sum(cells[m] for m in members) < k:
                    continue  # the line total is itself withheld: nothing to subtract from
                hidden = [m for m in members if m in result.withheld]
                if len(hidden) != 1:
                    continue
                visible = [m for m in members if m not in result.withheld]
                partner = min(visible, key=lambda m: (cells[m], _sortable(m)))
                result.withheld[partner] = SECONDARY
                changed = True
    return result


def _lines(cells: dict[tuple, int], axis: int) -> dict[tuple, list[tuple]]:
    lines: dict[tuple, list[tuple]] = defaultdict(list)
    for key in cells:
        lines[key[:axis] + key[axis + 1:]].append(key)
    return lines


def _sortable(key: tuple) -> tuple:
    return tuple((v is None, str(v) if isinstance(v, Hashable) else "") for v in key)


def protect_value(count: int, k: int) -> int | str:
    """One stand-alone figure (a key figure): the count or "<k"; 0 stays 0."""
    return small_label(k) if 0 < count < k else count
