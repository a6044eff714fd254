"""The disclosures-over-time chart: days or weeks, bars in proportion, round grid values."""

from __future__ import annotations

import datetime as dt

from gateway.console.chart import BOTTOM, HEIGHT, MAX_BUCKETS, TOP, build

DAY = dt.date(2026, 3, 1)


def test_one_pair_of_bars_per_day_in_proportion() -> None:
    daily = {("2026-03-01", "disclosure"): 6, ("2026-03-01", "refusal"): 3,
             ("2026-03-03", "disclosure"): 2, ("2026-03-03", "access"): 50}  # fmt: skip
    chart = build(daily, DAY, DAY + dt.timedelta(days=2))
    assert [b.start for b in chart.buckets] == [DAY + dt.timedelta(days=d) for d in range(3)]
    assert chart.total == {"disclosure": 8, "refusal": 3}  # other event types are not drawn
    assert chart.maximum == 8 and [v for _, v in chart.ticks] == [0, 2, 4, 6, 8]
    first = {b.series: b for b in chart.bars[:2]}
    assert first["disclosure"].height == 2 * first["refusal"].height
    plot = HEIGHT - BOTTOM - TOP
    assert first["disclosure"].height == plot * 6 / 8  # six on a scale of eight


def test_long_periods_are_drawn_by_week_and_nothing_is_lost() -> None:
    last = DAY + dt.timedelta(days=99)
    daily = {((DAY + dt.timedelta(days=d)).isoformat(), "refusal"): 1 for d in range(100)}
    chart = build(daily, DAY, last)
    assert len(chart.buckets) <= MAX_BUCKETS
    assert {b.days for b in chart.buckets[:-1]} == {7}
    assert chart.total["refusal"] == 100


def test_an_empty_period_still_draws_a_scale() -> None:
    chart = build({}, DAY, DAY)
    assert chart.maximum == 4 and all(b.height == 0 for b in chart.bars)
