"""Inline SVG charts of denial rates for the console (SPEC §10), written as text (pure).

No script and no chart library: the pages' Content-Security-Policy allows neither inline
scripts nor ``style`` attributes, so the drawing uses SVG presentation attributes
(``fill``, ``stroke``, ``font-size``) only. Every text that comes from data, such as a
facility's name, is escaped. A chart names itself (``<title>`` and ``aria-label``), and
the page shows the same numbers in a table for readers who cannot see the drawing.

Bar lengths are proportional to the rates on a scale from 0 to ``scale_top`` of the
rates, so small rates stay visible; the scale is written on the axis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from service.web.overview_labels import percent

NO_DATA = "Tidak ada data"
# The tops a scale may have: the smallest that holds the highest rate is used.
SCALE_STEPS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0)
# The palette of pages.css: ink, muted, line, and the colour of a denial.
INK, MUTED, LINE, DENIAL = "#1b1f23", "#57606a", "#d0d7de", "#a40e26"
FONT = 'font-family="system-ui, sans-serif"'
WIDTH = 640
# Most x-axis labels a column chart writes; the others are left out to stay readable.
MAX_AXIS_LABELS = 8
# Longest facility name written beside a bar; the full name is in the bar's tooltip.
MAX_LABEL = 30


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its rate (0–1, None: nothing decided), and a note for its tooltip."""

    label: str
    rate: float | None
    note: str = ""


def scale_top(rates: Iterable[float | None]) -> float:
    """The top of the scale: the smallest of ``SCALE_STEPS`` that holds every rate."""
    highest = min(max((rate for rate in rates if rate is not None), default=0.0), 1.0)
    return next(step for step in SCALE_STEPS if highest <= step)


def _number(value: float) -> str:
    """A coordinate, to two decimals without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg(title: str, description: str, width: float, height: float, body: Sequence[str]) -> Markup:
    """The ``<svg>`` element around ``body``, named by ``title`` for screen readers."""
    label = escape(f"{title}. {description}")
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-label="{label}" viewBox="0 0 {_number(width)} {_number(height)}" '
        f'width="{_number(width)}" height="{_number(height)}">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
    )
    # Every text from data went through ``escape`` on its way into ``body``.
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704


def _text(x: float, y: float, content: str, size: int = 11, anchor: str = "start") -> str:
    """A ``<text>`` element; ``content`` is escaped here."""
    fill = INK if size > 11 else MUTED
    return (
        f'<text x="{_number(x)}" y="{_number(y)}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{fill}" {FONT}>{escape(content)}</text>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    """A one-pixel ``<line>``."""
    return (
        f'<line x1="{_number(x1)}" y1="{_number(y1)}" x2="{_number(x2)}" y2="{_number(y2)}" '
        f'stroke="{colour}" stroke-width="1"/>'
    )


def _rect(x: float, y: float, width: float, height: float, bar: Bar) -> str:
    """A bar's ``<rect>``, its label, rate and note in its tooltip."""
    note = f" ({bar.note})" if bar.note else ""
    tooltip = escape(f"{bar.label}: {percent(bar.rate)}{note}")
    return (
        f'<rect x="{_number(x)}" y="{_number(y)}" width="{_number(width)}" '
        f'height="{_number(height)}" fill="{DENIAL}"><title>{tooltip}</title></rect>'
    )


def _no_data(title: str, height: float) -> Markup:
    """A chart with nothing to draw: a frame that says so."""
    body = [
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{_number(height - 1)}" '
        f'fill="none" stroke="{LINE}"/>',
        _text(WIDTH / 2, height / 2 + 5, NO_DATA, size=14, anchor="middle"),
    ]
    return _svg(title, f"{NO_DATA}: tidak ada keputusan pada periode ini.", WIDTH, height, body)


def _summary(bars: Sequence[Bar], unit: str) -> str:
    """The description of a chart: how many of its ``unit`` (days...) decided, the highest."""
    drawn = [bar for bar in bars if bar.rate is not None]
    highest = max(drawn, key=lambda bar: bar.rate or 0.0)
    return (
        f"{len(drawn)} dari {len(bars)} {unit} ada keputusannya; tertinggi "
        f"{percent(highest.rate)} ({highest.label}). Angka lengkap ada di tabel."
    )


# The column chart: one column per day.
COLUMN_HEIGHT = 200.0
LEFT, RIGHT, TOP, BOTTOM = 52.0, 8.0, 12.0, 28.0
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = COLUMN_HEIGHT - TOP - BOTTOM
BASELINE = TOP + PLOT_HEIGHT


def column_chart(title: str, bars: Sequence[Bar], top: float | None = None) -> Markup:
    """Columns left to right (days, in order); a dot marks each with a rate, 0% included.

    ``top`` is the scale's top (``scale_top`` of these bars when None): give charts that
    are read side by side the same top.
    """
    if not any(bar.rate is not None for bar in bars):
        return _no_data(title, COLUMN_HEIGHT)
    top = top or scale_top(bar.rate for bar in bars)
    body = []
    for fraction in (0.0, 0.5, 1.0):
        y = BASELINE - PLOT_HEIGHT * fraction
        body.append(_line(LEFT, y, WIDTH - RIGHT, y, MUTED if fraction == 0 else LINE))
        body.append(_text(LEFT - 6, y + 4, percent(top * fraction), anchor="end"))
    slot = PLOT_WIDTH / len(bars)
    every = math.ceil(len(bars) / MAX_AXIS_LABELS)
    for index, bar in enumerate(bars):
        middle = LEFT + slot * (index + 0.5)
        if index % every == 0:
            body.append(_text(middle, COLUMN_HEIGHT - 8, bar.label, anchor="middle"))
        if bar.rate is None:
            continue
        height = min(bar.rate, top) / top * PLOT_HEIGHT
        column = _rect(middle - slot * 0.35, BASELINE - height, slot * 0.7, height, bar)
        body.append(
            f'<g class="bar">{column}<circle cx="{_number(middle)}" '
            f'cy="{_number(BASELINE - height)}" '
            f'r="{_number(min(3.0, slot * 0.35))}" fill="{INK}"/></g>'
        )
    return _svg(title, _summary(bars, "hari"), WIDTH, COLUMN_HEIGHT, body)


# The bar chart: one horizontal bar per facility, its name on the left.
ROW = 28.0
LABEL_WIDTH, VALUE_WIDTH, AXIS = 230.0, 150.0, 22.0
BAR_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def bar_chart(title: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars top to bottom, each labelled with its name and its rate."""
    height = ROW * max(len(bars), 1) + AXIS + 4
    if not any(bar.rate is not None for bar in bars):
        return _no_data(title, max(height, 80.0))
    top = scale_top(bar.rate for bar in bars)
    body = []
    for index, bar in enumerate(bars):
        middle = 4 + ROW * (index + 0.5)
        body.append(_text(LABEL_WIDTH - 8, middle + 4, _short(bar.label), size=12, anchor="end"))
        if bar.rate is None:
            body.append(_text(LABEL_WIDTH + 6, middle + 4, "tidak ada keputusan", size=12))
            continue
        length = min(bar.rate, top) / top * BAR_WIDTH
        body.append(
            f'<g class="bar">{_rect(LABEL_WIDTH, middle - ROW * 0.3, length, ROW * 0.6, bar)}</g>'
        )
        body.append(_text(LABEL_WIDTH + length + 6, middle + 4, percent(bar.rate), size=12))
    axis_y = 4 + ROW * len(bars)
    body.append(_line(LABEL_WIDTH, 4, LABEL_WIDTH, axis_y, MUTED))
    for fraction in (0.0, 0.5, 1.0):
        x = LABEL_WIDTH + BAR_WIDTH * fraction
        body.append(_text(x, axis_y + 16, percent(top * fraction), anchor="middle"))
    return _svg(title, _summary(bars, "fasilitas"), WIDTH, height, body)
