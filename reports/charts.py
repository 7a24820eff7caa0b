"""Charts drawn on the server as plain SVG strings, for printed documents (no JavaScript).

A chart is bars (stacked when there are several series) on the left axis and, optionally, one
line on its own right axis (a share, such as positivity, or a running total). Every text that
comes from data — labels, series names, the title — is escaped: a chart is put in a document
as markup, so a label must never become markup of its own.
"""

import math
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44, 48, 30, 40
FONT = "Noto Sans, sans-serif"
TICKS = 4  # horizontal grid lines above zero
# Labels under the axis at most: each text of a chart costs its layout in the PDF renderer.
X_LABELS = 10
COLORS = ("#c0392b", "#e67e22", "#2874a6", "#27ae60", "#7d3c98")
LINE_COLOR = "#111111"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    color: str = ""


def text(value) -> str:
    """Data as SVG text: escaped, quotes included (it may land in an attribute)."""
    return escape(str(value), quote=True)


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at or above ``value`` (1 for zero)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def number_label(value: float, *, percent: bool = False) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(
    labels: list[str],
    bars: list[Series],
    *,
    title: str,
    line: Series | None = None,
    line_percent: bool = False,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """An SVG document: one group of stacked ``bars`` a label, and an optional ``line`` on a
    right axis of its own (``line_percent``: its values are shares, 0–1)."""
    plot = Plot(width, height, len(labels))
    stacked = [sum(column) for column in zip(*(s.values for s in bars), strict=True)]
    top = nice_ceiling(max(stacked, default=0))
    parts = [plot.frame(title), *plot.grid(top), *plot.x_labels(labels)]
    parts += plot.bars(bars, top)
    if line is not None:
        line_top = 1 if line_percent else nice_ceiling(max(line.values, default=0))
        parts += plot.line(line, line_top, percent=line_percent)
    parts.append(plot.legend([*bars, *([line] if line else [])]))
    return f"{plot.open_tag(title)}{''.join(parts)}</svg>"


class Plot:
    """The geometry of one chart: where values and labels go."""

    def __init__(self, width: int, height: int, count: int):
        self.width, self.height, self.count = width, height, max(count, 1)
        self.left, self.right = MARGIN_LEFT, width - MARGIN_RIGHT
        self.top, self.bottom = MARGIN_TOP, height - MARGIN_BOTTOM
        self.step = (self.right - self.left) / self.count

    def open_tag(self, title: str) -> str:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            f'viewBox="0 0 {self.width} {self.height}" role="img" aria-label="{text(title)}" '
            f'font-family="{FONT}" font-size="9">'
        )

    def frame(self, title: str) -> str:
        return f'<text x="{self.left}" y="14" font-size="11" font-weight="bold">{text(title)}</text>'

    def y(self, value: float, top: float) -> float:
        return self.bottom - (self.bottom - self.top) * (value / top if top else 0)

    def grid(self, top: float) -> list[str]:
        lines = []
        for tick in range(TICKS + 1):
            value = top * tick / TICKS
            y = round(self.y(value, top), 1)
            lines.append(
                f'<line x1="{self.left}" y1="{y}" x2="{self.right}" y2="{y}" stroke="#ddd"/>'
                f'<text x="{self.left - 4}" y="{y + 3}" text-anchor="end">{text(number_label(value))}</text>'
            )
        return lines

    def x_labels(self, labels: list[str]) -> list[str]:
        """Every label when they fit, else every n-th (and always the last)."""
        every = max(1, math.ceil(len(labels) / X_LABELS))
        last = len(labels) - 1
        shown = []
        for index, label in enumerate(labels):
            if index != last and (index % every or last - index < every):
                continue
            x = round(self.left + self.step * (index + 0.5), 1)
            shown.append(f'<text x="{x}" y="{self.bottom + 12}" text-anchor="middle">{text(label)}</text>')
        return shown

    def bars(self, series: list[Series], top: float) -> list[str]:
        width = round(self.step * 0.7, 2)
        rects = []
        base = [0.0] * self.count
        for number, one in enumerate(series):
            color = one.color or COLORS[number % len(COLORS)]
            for index, value in enumerate(one.values[: self.count]):
                if value <= 0:
                    continue
                y_top, y_base = self.y(base[index] + value, top), self.y(base[index], top)
                x = round(self.left + self.step * index + (self.step - width) / 2, 2)
                rects.append(
                    f'<rect x="{x}" y="{round(y_top, 2)}" width="{width}" '
                    f'height="{round(y_base - y_top, 2)}" fill="{text(color)}"/>'
                )
                base[index] += value
        return rects

    def line(self, series: Series, top: float, *, percent: bool) -> list[str]:
        points = " ".join(
            f"{round(self.left + self.step * (i + 0.5), 1)},{round(self.y(v, top), 1)}"
            for i, v in enumerate(series.values[: self.count])
        )
        color = text(series.color or LINE_COLOR)
        axis = [
            f'<text x="{self.right + 4}" y="{round(self.y(top * t / TICKS, top), 1) + 3}">'
            f"{text(number_label(top * t / TICKS, percent=percent))}</text>"
            for t in range(TICKS + 1)
        ]
        return [f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.4"/>', *axis]

    def legend(self, series: list[Series]) -> str:
        items, x = [], self.left
        y = self.height - 8
        for number, one in enumerate(series):
            color = text(one.color or COLORS[number % len(COLORS)])
            items.append(
                f'<rect x="{x}" y="{y - 7}" width="8" height="8" fill="{color}"/>'
                f'<text x="{x + 11}" y="{y}">{text(one.name)}</text>'
            )
            x += 24 + 5.5 * len(one.name)
        return "".join(items)
