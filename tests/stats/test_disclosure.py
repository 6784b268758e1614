"""Primary and secondary suppression on crafted tables (no database)."""

from beistand.stats.disclosure import PRIMARY, SECONDARY, protect, protect_value


def test_small_cells_are_withheld_as_less_than_k():
    p = protect({("a",): 7, ("b",): 3, ("c",): 12, ("d",): 9}, k=5)
    assert p.shown(("b",)) == "<5"
    assert p.withheld[("b",)] == PRIMARY


def test_one_suppressed_cell_in_a_line_gets_a_partner():
    # Total 31 is published: 31 - 7 - 12 - 9 would reveal b = 3; the smallest other cell goes too.
    p = protect({("a",): 7, ("b",): 3, ("c",): 12, ("d",): 9}, k=5)
    assert p.withheld == {("b",): PRIMARY, ("a",): SECONDARY}
    assert p.shown(("a",)) == "x"
    assert p.suppressed == 2


def test_two_dimensional_table_needs_partners_in_rows_and_columns():
    #         L1   L2   L3
    # Jan     10    2    8     (row 20)
    # Feb      9   11    7     (row 27)
    # Mar     12    6   15     (row 33)
    cells = {("jan", 1): 10, ("jan", 2): 2, ("jan", 3): 8,
             ("feb", 1): 9, ("feb", 2): 11, ("feb", 3): 7,
             ("mar", 1): 12, ("mar", 2): 6, ("mar", 3): 15}
    p = protect(cells, k=5)
    assert p.withheld[("jan", 2)] == PRIMARY
    # No published line (row or column with total >= k) may hold exactly one withheld cell.
    for axis in (0, 1):
        lines = {}
        for key in cells:
            lines.setdefault(key[1 - axis], []).append(key)
        for members in lines.values():
            hidden = [m for m in members if m in p.withheld]
            assert len(hidden) != 1, (axis, members, p.withheld)
    # Recovering jan/L2 from the January row is impossible: two unknowns.
    assert sum(1 for m in [("jan", 1), ("jan", 2), ("jan", 3)] if m in p.withheld) >= 2
    assert sum(1 for m in [("jan", 2), ("feb", 2), ("mar", 2)] if m in p.withheld) >= 2


def test_a_line_whose_total_is_itself_small_needs_no_partner():
    # Row "x" has total 3 (< k, itself withheld): no partner needed there, but the column
    # totals (3 + 20, 0 + 9) are published: the column of (x, 1) needs a second cell.
    p = protect({("x", 1): 3, ("y", 1): 20, ("y", 2): 9}, k=5)
    assert p.withheld[("x", 1)] == PRIMARY
    assert ("y", 1) in p.withheld  # partner in column 1
    # and row y now has one withheld cell with total 29 published: its partner is (y, 2)
    assert ("y", 2) in p.withheld
    # column 2 holds only (y, 2): its total 9 would reveal it, then row y reveals (y, 1), then
    # column 1 reveals (x, 1) = 3. So that column total is withheld.
    assert (0, (2,)) in p.withheld_totals


def test_nothing_withheld_when_all_cells_are_large_and_k_one_switches_off():
    assert protect({("a",): 5, ("b",): 6}, k=5).withheld == {}
    assert protect({("a",): 1, ("b",): 6}, k=1).withheld == {}


def test_zero_looks_like_a_small_count_and_key_figures():
    # Only cells with records get noise: a 0 published beside "<5" would prove that a narrow
    # filter holds at least one record (issue 16, re-attack). Everything below k is "<5".
    assert protect_value(0, 5) == "<5"
    assert protect(({("a",): 7}), 5).shown(("b",)) == "<5"
    assert protect_value(0, 1) == 0
    assert protect_value(4, 5) == "<5"
    assert protect_value(5, 5) == 5
