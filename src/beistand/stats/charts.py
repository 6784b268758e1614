"""Server-side charts (matplotlib, no JavaScript): inline SVG for the dashboard, PNG for PDFs.

Accessible by construction: every SVG carries ``role="img"`` with ``<title>`` and ``<desc>``;
levels are told apart by hatch patterns and labels, not by colour alone; the colours have at
least 3:1 contrast against white. The page's strict CSP forbids inline styles, so the SVG's
``style`` attributes are rewritten as presentation attributes and its ``<style>`` block dropped.
Withheld values (< k, x) are not drawn; the caption says so and the table next to the chart
shows them.
"""

import io
import itertools
import re
from html import escape

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from beistand.stats.tables import TOTAL, Table

matplotlib.use("Agg")

INK = "#1a1a1a"
GRID = "#c8c8c8"
# Level 0–3: grey, blue, orange-brown, dark red (each ≥ 3:1 on white) + distinct hatches.
LEVEL_COLOURS = ["#6b6b6b", "#1d5fa6", "#a34d00", "#8c0a1e"]
LEVEL_HATCHES = ["", "//", "xx", ".."]
BAR = "#1d5fa6"
P90 = "#a34d00"
DEADLINE = "#8c0a1e"
FONT = {"font.family": "DejaVu Sans", "font.size": 9, "svg.fonttype": "path",
        "svg.hashsalt": "beistand", "hatch.color": "#ffffff", "hatch.linewidth": 1.0,
        "axes.edgecolor": INK, "axes.labelcolor": INK, "xtick.color": INK,
        "ytick.color": INK, "text.color": INK}
_counter = itertools.count(1)
# Figures read these when their artists are created: set once for the process (only the
# statistics draw with matplotlib).
matplotlib.rcParams.update(FONT)


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    fig.patch.set_facecolor("#ffffff")
    return fig


def _style_axes(ax, horizontal: bool = False) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="x" if horizontal else "y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)


# --- Chart builders --------------------------------------------------------------------------

def stacked_by_level(table: Table, period_label: str) -> Figure:
    """Bars per period, stacked by hazard level (withheld cells left out)."""
    periods = [label for label in table.series]
    levels = table.columns[1:-1]
    fig = _figure(9, 3.6)
    ax = fig.add_subplot()
    bottoms = [0] * len(periods)
    for i, level in enumerate(levels):
        values = [table.series[p].get(level) or 0 for p in periods]
        ax.bar(range(len(periods)), values, bottom=bottoms, width=0.8,
               color=LEVEL_COLOURS[i % 4], hatch=LEVEL_HATCHES[i % 4], edgecolor=INK,
               linewidth=0.4, label=level)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    # The row total minus the visible cells is public anyway (both are in the table): drawn as
    # one grey "withheld" segment, the bar shows the true total without telling which level.
    totals = {row[0]: row[-1] for row in table.rows}
    rest = [max(0, totals[p] - b) if isinstance(totals.get(p), int) else 0
            for p, b in zip(periods, bottoms, strict=True)]
    if any(rest):
        ax.bar(range(len(periods)), rest, bottom=bottoms, width=0.8, color="#ffffff",
               hatch="\\\\", hatchcolor="#6b6b6b", edgecolor="#6b6b6b", linewidth=0.4,
               label="zurückgehalten")
    step = max(1, len(periods) // 18)
    ax.set_xticks(range(0, len(periods), step))
    ax.set_xticklabels(periods[::step], rotation=45, ha="right")
    ax.set_ylabel("Vorfälle")
    ax.set_xlabel(period_label)
    _style_axes(ax)
    ax.legend(title="Gefährdungsstufe", ncols=5, loc="lower left", frameon=False,
              bbox_to_anchor=(0, 1.0))
    fig.tight_layout()
    return fig


def horizontal_bars(table: Table, xlabel: str = "Vorfälle") -> Figure:
    """One bar per category; withheld categories get an empty bar labelled with the marker."""
    labels = [label for label in table.series]
    values = [table.series[label].get("Anzahl") for label in labels]
    shown = {row[0]: row[1] for row in table.rows}
    fig = _figure(9, max(1.6, 0.36 * len(labels) + 0.8))
    ax = fig.add_subplot()
    y = list(range(len(labels)))[::-1]
    ax.barh(y, [v or 0 for v in values], color=BAR, edgecolor=INK, linewidth=0.4, height=0.7)
    top = max([v or 0 for v in values] + [1])
    for yi, label, v in zip(y, labels, values, strict=True):
        ax.text((v or 0) + top * 0.01, yi, str(v) if v is not None else str(shown[label]),
                va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels([_short(label) for label in labels])
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, top * 1.12)
    _style_axes(ax, horizontal=True)
    fig.tight_layout()
    return fig


def lead_time_bars(table: Table) -> Figure:
    """Median and 90th percentile per step (hours), with the deadline as a marker."""
    steps = list(table.series)
    fig = _figure(9, 0.75 * len(steps) + 1.2)
    ax = fig.add_subplot()
    y = list(range(len(steps)))[::-1]
    med = [table.series[s]["Median"] or 0 for s in steps]
    p90 = [table.series[s]["90. Perzentil"] or 0 for s in steps]
    ax.barh([v + 0.18 for v in y], med, height=0.34, color=BAR, edgecolor=INK, linewidth=0.4,
            label="Median")
    ax.barh([v - 0.18 for v in y], p90, height=0.34, color=P90, hatch="//", edgecolor=INK,
            linewidth=0.4, label="90. Perzentil")
    for yi, s in zip(y, steps, strict=True):
        limit = table.series[s]["Frist"]
        ax.plot([limit, limit], [yi - 0.42, yi + 0.42], color=DEADLINE, linewidth=2)
    ax.plot([], [], color=DEADLINE, linewidth=2, label="Frist")
    ax.set_yticks(y)
    ax.set_yticklabels(steps)
    ax.set_xlabel("Stunden")
    _style_axes(ax, horizontal=True)
    ax.legend(ncols=3, loc="lower right", frameon=False, bbox_to_anchor=(1, 1.0))
    fig.tight_layout()
    return fig


def year_comparison(current: Table, previous: Table, year: int) -> Figure:
    """Two bars per level: previous and current year."""
    levels = [r[0] for r in current.rows if r[0] != TOTAL]
    cur = [current.series.get(level, {}).get("Anzahl") or 0 for level in levels]
    prev = [previous.series.get(level, {}).get("Anzahl") or 0 for level in levels]
    fig = _figure(9, 3.0)
    ax = fig.add_subplot()
    x = range(len(levels))
    ax.bar([i - 0.2 for i in x], prev, width=0.4, color="#6b6b6b", hatch="..", edgecolor=INK,
           linewidth=0.4, label=str(year - 1))
    ax.bar([i + 0.2 for i in x], cur, width=0.4, color=BAR, edgecolor=INK, linewidth=0.4,
           label=str(year))
    ax.set_xticks(list(x))
    ax.set_xticklabels(levels)
    ax.set_ylabel("Vorfälle")
    _style_axes(ax)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def level_legend_patches():
    return [Patch(facecolor=c, hatch=h, edgecolor=INK)
            for c, h in zip(LEVEL_COLOURS, LEVEL_HATCHES, strict=True)]


def _short(label: str, limit: int = 42) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


# --- Output ----------------------------------------------------------------------------------

_STYLE_ATTR = re.compile(r'style="([^"]*)"')
_ID = re.compile(r'\bid="([^"]+)"')


def _style_to_attributes(match: re.Match) -> str:
    parts = []
    for declaration in match.group(1).split(";"):
        if ":" not in declaration:
            continue
        name, value = (p.strip() for p in declaration.split(":", 1))
        if name and value and re.fullmatch(r"[a-z-]+", name):
            parts.append(f'{name}="{escape(value, quote=True)}"')
    return " ".join(parts)


def svg(fig: Figure, title: str, desc: str) -> str:
    """The figure as inline SVG markup for a page with a strict CSP."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    markup = buffer.getvalue()
    markup = markup[markup.index("<svg"):]
    markup = re.sub(r"<metadata>.*?</metadata>", "", markup, flags=re.S)
    markup = re.sub(r"<style[^>]*>.*?</style>", "", markup, flags=re.S)
    markup = _STYLE_ATTR.sub(_style_to_attributes, markup)
    prefix = f"c{next(_counter)}-"
    ids = set(_ID.findall(markup))
    for old in sorted(ids, key=len, reverse=True):
        markup = markup.replace(f'id="{old}"', f'id="{prefix}{old}"')
        markup = markup.replace(f"url(#{old})", f"url(#{prefix}{old})")
        markup = markup.replace(f'href="#{old}"', f'href="#{prefix}{old}"')
    head_end = markup.index(">") + 1
    head = markup[:head_end]
    head = re.sub(r'\s(width|height)="[^"]*"', "", head)
    head = head.replace("<svg", f'<svg class="bs-chart__svg" role="img" aria-labelledby='
                                f'"{prefix}title {prefix}desc" focusable="false"', 1)
    body = (f'<title id="{prefix}title">{escape(title)}</title>'
            f'<desc id="{prefix}desc">{escape(desc)}</desc>')
    return head + body + markup[head_end:]


def png(fig: Figure, dpi: int = 200) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
