"""Bar charts drawn on the server as inline SVG (no script, no outside library: the CSP allows only this site): the
geometry here, the markup in templates/reports/_chart.html. Each chart has a title, a description, axis labels, a
legend when it has several series, and its table beside it on the page; colour is never the only cue (each bar has
its value in its tooltip and the table holds every value)."""

import dataclasses
import math

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 16, 72
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclasses.dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    label: str


@dataclasses.dataclass
class Tick:
    at: float
    label: str


@dataclasses.dataclass
class Chart:
    key: str
    title: str
    description: str
    x_label: str
    y_label: str
    bars: list[Bar]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    legend: list[str]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    plot_width: int = PLOT_WIDTH
    plot_height: int = PLOT_HEIGHT

    @property
    def plot_bottom(self) -> int:
        return self.top + self.plot_height

    @property
    def x_label_y(self) -> int:
        return self.height - 6

    @property
    def y_label_x(self) -> int:
        return 14

    @property
    def y_label_y(self) -> int:
        return self.top + self.plot_height // 2

    @property
    def plot_right(self) -> int:
        return self.left + self.plot_width

    @property
    def x_label_x(self) -> int:
        return self.left + self.plot_width // 2


def _nice_max(value: float) -> float:
    """A round top for the axis: 1, 2, 2.5 or 5 times a power of ten, at or above `value`."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


def _number(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value:,.0f}"


def bar_chart(
    *,
    key: str,
    title: str,
    x_label: str,
    y_label: str,
    categories: list[str],
    series: list[tuple[str, list[float | None]]],
    y_max: float | None = None,
) -> Chart:
    """Grouped bars: one group per category, one bar per series (a missing value draws no bar)."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = y_max or _nice_max(max(values, default=0))
    group = PLOT_WIDTH / max(len(categories), 1)
    bar_width = group * 0.8 / max(len(series), 1)
    bars = []
    for s, (name, series_values) in enumerate(series):
        for c, value in enumerate(series_values):
            if value is None:
                continue
            height = PLOT_HEIGHT * min(value, top) / top
            x = LEFT + c * group + group * 0.1 + s * bar_width
            label = f"{categories[c]}: {_number(value)}" + (f" ({name})" if len(series) > 1 else "")
            bars.append(Bar(x=x, y=TOP + PLOT_HEIGHT - height, width=bar_width, height=height, series=s, label=label))
    every = max(1, math.ceil(len(categories) / 16))  # at most 16 category labels, so they do not overlap
    x_ticks = [Tick(at=LEFT + c * group + group / 2, label=name) for c, name in enumerate(categories) if c % every == 0]
    y_ticks = [Tick(at=TOP + PLOT_HEIGHT * (1 - i / 4), label=_number(top * i / 4)) for i in range(5)]
    names = [name for name, _ in series]
    description = f"Bar chart of {y_label.lower()} by {x_label.lower()}"
    description += f", one bar for each of: {', '.join(names)}." if len(series) > 1 else "."
    return Chart(
        key=key,
        title=title,
        description=description + " The table after it holds every value.",
        x_label=x_label,
        y_label=y_label,
        bars=bars,
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        legend=names if len(series) > 1 else [],
    )
