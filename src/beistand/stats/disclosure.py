"""Disclosure control for count tables: primary and secondary cell suppression.

A table is a dict ``{key tuple: count}`` of its non-zero cells (``key`` has one value per
dimension). **Primary**: every cell with ``0 < count < k`` is withheld ("< k"). **Secondary**:
along every line of the table (all dimensions fixed but one) whose total is published (total ≥ k),
exactly one withheld cell could be recovered as *line total − visible cells*; so the smallest
visible cell of such a line is withheld too ("x"). Withholding a cell can create a new line with
a single withheld cell in another dimension, so this repeats until no line has exactly one.

When a line's only remaining cell would have to be the partner (nothing left to withhold in it),
that line's total is withheld instead (``withheld_totals``). Zero cells are not sensitive and
never returned. Totals published in *other* queries (one dimension less) are protected there by
the same procedure; combining differently filtered queries is a residual risk (statistics.md).
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
    # Line totals that must not be published: (axis, line key). A line whose only cell is a
    # withheld partner would reveal that partner, and through it the small cell.
    withheld_totals: set[tuple[int, tuple]] = field(default_factory=set)

    def shown(self, key: tuple) -> int | str:
        """The value to publish for a cell: the count, "<k" or "x". An absent cell (no
        record) is "<k" as well: a 0 beside "<k" would tell which cells hold a record."""
        how = self.withheld.get(key)
        if how == PRIMARY:
            return small_label(self.k)
        if how == SECONDARY:
            return SECONDARY_LABEL
        if key not in self.cells and self.k > 1:
            return small_label(self.k)
        return self.cells.get(key, 0)

    @property
    def suppressed(self) -> int:
        return len(self.withheld) + len(self.withheld_totals)


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
        lines = [_lines(cells, axis) for axis in range(dims)]
        for axis in range(dims):
            for line_key, members in lines[axis].items():
                if sum(cells[m] for m in members) < k or (axis, line_key) in \
                        result.withheld_totals:
                    continue  # the line total is itself withheld: nothing to subtract from
                hidden = [m for m in members if m in result.withheld]
                if len(hidden) != 1:
                    continue
                visible = [m for m in members if m not in result.withheld]
                if not visible:
                    result.withheld_totals.add((axis, line_key))
                    changed = True
                    continue
                partner = min(visible, key=lambda m: (
                    _lonely(m, axis, lines, result.withheld), cells[m], _sortable(m)))
                result.withheld[partner] = SECONDARY
                changed = True
    return result


def _lonely(key: tuple, axis: int, lines, withheld) -> int:
    """How many of the cell's other lines have no further visible cell (a partner there would
    have to be protected by withholding that line's total): prefer cells with none."""
    count = 0
    for other, by_line in enumerate(lines):
        if other == axis:
            continue
        members = by_line[key[:other] + key[other + 1:]]
        if not any(m != key and m not in withheld for m in members):
            count += 1
    return count


def _lines(cells: dict[tuple, int], axis: int) -> dict[tuple, list[tuple]]:
    lines: dict[tuple, list[tuple]] = defaultdict(list)
    for key in cells:
        lines[key[:axis] + key[axis + 1:]].append(key)
    return lines


def _sortable(key: tuple) -> tuple:
    return tuple((v is None, str(v) if isinstance(v, Hashable) else "") for v in key)


def protect_value(count: int, k: int) -> int | str:
    """One stand-alone figure (a key figure): the count, or "<k" for anything below k - 0
    included. Only cells with records get noise, so a published "<k" next to a published 0
    would prove that at least one record matches a narrow filter (issue 16, re-attack)."""
    return small_label(k) if k > 1 and count < k else count
