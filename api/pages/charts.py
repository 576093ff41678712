"""Horizontal bar charts as inline SVG, drawn on the server (no JavaScript, DESIGN.md C7).

:func:`bar_chart` draws one row per :class:`Bar`: stacked segments (one per
:class:`Series`), an optional marker line (e.g. the planned ratio, or the
mean), a value note at the end of the row, and axis ticks.  The SVG carries
``role="img"``, a ``<title>`` and a ``<desc>``, and each row its own
``<title>`` (a tooltip and a screen-reader label); the pages put the same
numbers in a table beside each chart.  Colours come from CSS classes
(``static/style.css``), so the charts follow the page's style.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Bar", "Series", "bar_chart"]

_ids = itertools.count(1)

LABEL_WIDTH = 250
PLOT_WIDTH = 420
NOTE_WIDTH = 90
ROW = 24
BAR = 15
TOP = 30
BOTTOM = 28


@dataclass(frozen=True)
class Series:
    """One kind of segment: its name in the legend and its CSS class."""

    name: str
    css: str


@dataclass(frozen=True)
class Bar:
    """One row: a label, one value per series (stacked), an optional marker and a note."""

    label: str
    values: tuple[float, ...]
    note: str = ""
    marker: float | None = None


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _ticks(scale: float, percent: bool) -> list[float]:
    if percent:
        return [0, 25, 50, 75, 100]
    if scale <= 5:
        return [float(i) for i in range(int(scale) + 1)]
    step = max(1, round(scale / 5))
    return [float(i) for i in range(0, int(scale) + 1, step)]


def bar_chart(
    title: str,
    bars: Sequence[Bar],
    series: Sequence[Series],
    *,
    description: str,
    scale: float | None = None,
    percent: bool = False,
    marker_name: str | None = None,
) -> Markup:
    """An SVG chart of ``bars``; ``scale`` is the value at the right end (default: the largest).

    With ``percent`` the axis reads 0-100%.  ``marker_name`` names the marker
    line in the legend.  Returns markup ready for a Jinja template (labels
    are escaped here).
    """
    ident = f"chart-{next(_ids)}"
    largest = max((sum(b.values) for b in bars), default=0.0)
    markers = [b.marker for b in bars if b.marker is not None]
    top = scale if scale is not None else max([largest, *markers, 1.0])
    top = max(top, 1e-9)
    width = LABEL_WIDTH + PLOT_WIDTH + NOTE_WIDTH
    height = TOP + ROW * max(len(bars), 1) + BOTTOM

    def x(value: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * min(max(value, 0.0), top) / top

    out: list[str] = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d">',
        f'<title id="{ident}-t">{escape(title)}</title>',
        f'<desc id="{ident}-d">{escape(description)}</desc>',
    ]
    legend_x = LABEL_WIDTH
    for item in series:
        out.append(f'<rect class="{escape(item.css)}" x="{legend_x}" y="6" width="12" '
                   'height="12"/>')
        out.append(f'<text class="legend" x="{legend_x + 16}" y="16">{escape(item.name)}</text>')
        legend_x += 28 + 14 * len(item.name)
    if marker_name:
        out.append(f'<line class="marker" x1="{legend_x}" y1="4" x2="{legend_x}" y2="20"/>')
        out.append(f'<text class="legend" x="{legend_x + 6}" y="16">{escape(marker_name)}</text>')
    axis_bottom = TOP + ROW * max(len(bars), 1)
    for tick in _ticks(top if not percent else 100, percent):
        value = tick if not percent else tick * top / 100
        tx = x(value)
        out.append(f'<line class="grid" x1="{tx:.1f}" y1="{TOP - 4}" x2="{tx:.1f}" '
                   f'y2="{axis_bottom}"/>')
        text = f"{int(tick)}%" if percent else _fmt(tick)
        out.append(f'<text class="tick" x="{tx:.1f}" y="{axis_bottom + 16}" '
                   f'text-anchor="middle">{text}</text>')
    if not bars:
        out.append(f'<text class="empty" x="{LABEL_WIDTH + 8}" y="{TOP + 16}">无数据</text>')
    for row, bar in enumerate(bars):
        y = TOP + row * ROW
        names = "，".join(f"{s.name} {_fmt(v)}" for s, v in zip(series, bar.values, strict=False))
        extra = f"，{marker_name} {_fmt(bar.marker)}" if bar.marker is not None and \
            marker_name else ""
        out.append(f'<g><title>{escape(bar.label)}：{escape(names)}{escape(extra)}</title>')
        out.append(f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + BAR - 2}" '
                   f'text-anchor="end">{escape(_clip(bar.label))}</text>')
        start = 0.0
        for item, value in zip(series, bar.values, strict=False):
            if value <= 0:
                continue
            x0, x1 = x(start), x(start + value)
            out.append(f'<rect class="{escape(item.css)}" x="{x0:.1f}" y="{y + 2}" '
                       f'width="{max(x1 - x0, 1.0):.1f}" height="{BAR}"/>')
            start += value
        if bar.marker is not None:
            mx = x(bar.marker)
            out.append(f'<line class="marker" x1="{mx:.1f}" y1="{y}" x2="{mx:.1f}" '
                       f'y2="{y + BAR + 4}"/>')
        if bar.note:
            out.append(f'<text class="note" x="{LABEL_WIDTH + PLOT_WIDTH + 6}" '
                       f'y="{y + BAR - 2}">{escape(bar.note)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return Markup("\n".join(out))


def _clip(label: str, limit: int = 17) -> str:
    """Labels longer than ``limit`` characters end in an ellipsis (the row's title has them all)."""
    return label if len(label) <= limit else label[: limit - 1] + "…"
