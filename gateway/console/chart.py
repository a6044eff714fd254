"""The disclosures-and-refusals-over-time chart, laid out here and drawn as inline SVG by a
template (no script, no image files): one pair of bars per day, or per week for long periods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

WIDTH, HEIGHT = 720, 200
LEFT, BOTTOM, TOP = 44, 28, 12
MAX_BUCKETS = 62
SERIES = ("disclosure", "refusal")


@dataclass(frozen=True)
class Bar:
    series: str
    x: float
    y: float
    width: float
    height: float
    count: int


@dataclass(frozen=True)
class Bucket:
    start: dt.date
    days: int
    counts: dict[str, int]


@dataclass(frozen=True)
class Chart:
    buckets: list[Bucket]
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    labels: list[tuple[float, dt.date]]  # (x, first day) of a few buckets along the bottom
    maximum: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    bottom: int = BOTTOM

    @property
    def total(self) -> dict[str, int]:
        return {s: sum(b.counts.get(s, 0) for b in self.buckets) for s in SERIES}


def _buckets(daily: Mapping[tuple[str, str], int], first: dt.date, last: dt.date) -> list[Bucket]:
    days = (last - first).days + 1
    step = 1 if days <= MAX_BUCKETS else 7
    buckets = []
    start = first
    while start <= last:
        length = min(step, (last - start).days + 1)
        counts = dict.fromkeys(SERIES, 0)
        for offset in range(length):
            key = (start + dt.timedelta(days=offset)).isoformat()
            for series in SERIES:
                counts[series] += daily.get((key, series), 0)
        buckets.append(Bucket(start, length, counts))
        start += dt.timedelta(days=length)
    return buckets


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k at or above value (at least 1)."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            if factor * magnitude >= value:
                return factor * magnitude
        magnitude *= 10


def build(daily: Mapping[tuple[str, str], int], first: dt.date, last: dt.date) -> Chart:
    """The chart of (UTC day, event type) -> count from `first` to `last`, both included."""
    if last < first:
        first, last = last, first
    buckets = _buckets(daily, first, last)
    highest = max((max(b.counts.values()) for b in buckets), default=0)
    step = _nice_ceiling(-(-highest // 4))  # four grid steps of a round size
    maximum = step * 4
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - BOTTOM - TOP
    slot = plot_w / len(buckets)
    bar_w = max(1.0, slot * 0.4)
    bars = []
    for i, bucket in enumerate(buckets):
        for j, series in enumerate(SERIES):
            count = bucket.counts[series]
            h = plot_h * count / maximum
            x = LEFT + i * slot + slot * 0.1 + j * bar_w
            bars.append(
                Bar(
                    series,
                    round(x, 1),
                    round(TOP + plot_h - h, 1),
                    round(bar_w, 1),
                    round(h, 1),
                    count,
                )
            )
    ticks = [(round(TOP + plot_h - plot_h * k / 4, 1), step * k) for k in range(5)]
    every = max(1, len(buckets) // 6)
    labels = [
        (round(LEFT + i * slot, 1), bucket.start)
        for i, bucket in enumerate(buckets)
        if i % every == 0
    ]
    return Chart(buckets, bars, ticks, labels, maximum)
