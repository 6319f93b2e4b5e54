"""Geometry of server-rendered Gantt charts (SVG): one per plant, a row per machine; one per
order, a row per operation with the transport legs between plants and to the buyer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Colour-blind-safe palette (Okabe-Ito plus darker companions), cycled by order id.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#5E3C99",
           "#117733", "#882255", "#44AA99", "#999933", "#AA4499"]
# Light fills take dark text; the rest white (WCAG contrast >= 4.5 for the bar labels).
_LIGHT = {"#E69F00", "#56B4E9", "#999933", "#44AA99", "#CC79A7", "#009E73"}
LABEL_W, ROW_H, BAR_H, AXIS_H, PLOT_W = 190, 26, 18, 28, 900


@dataclass
class Bar:
    y: float
    x: float
    w: float
    color: str
    label: str
    title: str

    @property
    def text_color(self) -> str:
        return "#1b2330" if self.color in _LIGHT else "#ffffff"


@dataclass
class Leg:
    x1: float
    x2: float
    y1: float
    y2: float
    title: str


@dataclass
class Chart:
    rows: list[str]
    bars: list[Bar] = field(default_factory=list)
    legs: list[Leg] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)
    label_w: int = LABEL_W
    row_h: int = ROW_H
    bar_h: int = BAR_H
    axis_h: int = AXIS_H
    plot_w: int = PLOT_W

    @property
    def width(self) -> int:
        return self.label_w + self.plot_w + 10

    @property
    def height(self) -> int:
        return AXIS_H + ROW_H * max(1, len(self.rows)) + 6


def color_for(order_id: int) -> str:
    return PALETTE[order_id % len(PALETTE)]


class _Scale:
    def __init__(self, t0: datetime, t1: datetime, plot_w: int = PLOT_W) -> None:
        self.t0 = t0
        self.plot_w = plot_w
        self.span = max(60.0, (t1 - t0).total_seconds())

    def x(self, t: datetime) -> float:
        return LABEL_W + self.plot_w * (t - self.t0).total_seconds() / self.span

    def w(self, a: datetime, b: datetime) -> float:
        return max(2.0, self.plot_w * (b - a).total_seconds() / self.span)


def _ticks(scale: _Scale, t0: datetime, t1: datetime, tz) -> list[tuple[float, str]]:  # type: ignore[no-untyped-def]
    days = (t1 - t0).total_seconds() / 86400
    step = timedelta(hours=6) if days <= 3 else timedelta(days=1) if days <= 21 else timedelta(
        days=7)
    local = t0.astimezone(tz)
    first = local.replace(hour=0, minute=0, second=0, microsecond=0)
    ticks = []
    t = first
    while t <= t1.astimezone(tz):
        # a label needs ~70 px: none that would be cut off at the right edge
        if t >= local and scale.x(t) <= LABEL_W + scale.plot_w - 70:
            fmt = "%m-%d %H:%M" if step < timedelta(days=1) else "%m-%d"
            ticks.append((scale.x(t), t.strftime(fmt)))
        t += step
    return ticks[:40]


def plant_chart(machines: list[tuple[int, str]], ops: list, tz) -> Chart:  # type: ignore[no-untyped-def]
    """`machines` (id, name) in display order; `ops` planned operations on them."""
    chart = Chart(rows=[name for _id, name in machines])
    if not ops:
        return chart
    t0, t1 = min(o.start for o in ops), max(o.end for o in ops)
    scale = _Scale(t0, t1)
    row_of = {mid: i for i, (mid, _name) in enumerate(machines)}
    for o in ops:
        row = row_of.get(o.machine_id)
        if row is None:
            continue
        chart.bars.append(Bar(
            y=AXIS_H + row * ROW_H + (ROW_H - BAR_H) / 2, x=scale.x(o.start),
            w=scale.w(o.start, o.end), color=color_for(o.order_id), label=f"#{o.order_id}",
            title=(f"order #{o.order_id}, {o.start.astimezone(tz):%m-%d %H:%M} – "
                   f"{o.end.astimezone(tz):%m-%d %H:%M}")))
    chart.ticks = _ticks(scale, t0, t1, tz)
    return chart


def order_chart(ops: list, labels: dict[int, str], plant_names: dict[int, str],
                completion: datetime | None, tz, plot_w: int = 560) -> Chart:  # type: ignore[no-untyped-def]
    """One row per operation in sequence; dashed legs where the work moves between plants,
    and to the buyer after the last operation."""
    ops = sorted(ops, key=lambda o: o.start)
    # narrower than a plant chart: it sits in the order page's main column
    chart = Chart(rows=[labels.get(o.operation_id, str(o.operation_id)) for o in ops]
                  + ([""] if completion else []), plot_w=plot_w)
    if not ops:
        return chart
    t0 = min(o.start for o in ops)
    t1 = max([o.end for o in ops] + ([completion] if completion else []))
    scale = _Scale(t0, t1, plot_w)
    plants = sorted({o.plant_id for o in ops})
    for i, o in enumerate(ops):
        y = AXIS_H + i * ROW_H + (ROW_H - BAR_H) / 2
        chart.bars.append(Bar(
            y=y, x=scale.x(o.start), w=scale.w(o.start, o.end),
            color=PALETTE[plants.index(o.plant_id) % len(PALETTE)],
            label=plant_names.get(o.plant_id, ""),
            title=(f"{labels.get(o.operation_id, '')} at {plant_names.get(o.plant_id, '')}: "
                   f"{o.start.astimezone(tz):%m-%d %H:%M} – {o.end.astimezone(tz):%m-%d %H:%M}")))
        if i + 1 < len(ops) and ops[i + 1].plant_id != o.plant_id:
            nxt = ops[i + 1]
            chart.legs.append(Leg(x1=scale.x(o.end), x2=scale.x(nxt.start), y1=y + BAR_H / 2,
                                  y2=y + ROW_H + BAR_H / 2,
                                  title=f"transport {plant_names.get(o.plant_id, '')} → "
                                        f"{plant_names.get(nxt.plant_id, '')}"))
    if completion:
        last = ops[-1]
        y = AXIS_H + (len(ops) - 1) * ROW_H + (ROW_H - BAR_H) / 2
        chart.legs.append(Leg(x1=scale.x(last.end), x2=scale.x(completion), y1=y + BAR_H / 2,
                              y2=y + ROW_H + BAR_H / 2, title="delivery to the buyer"))
    chart.ticks = _ticks(scale, t0, t1, tz)
    return chart
