"""tools/benchmarks/measure.py: what the benchmarks measure with."""

from __future__ import annotations

from tools.benchmarks.measure import spans, timed


def test_spans_split_the_time_at_the_marks_and_sum_a_recurring_part() -> None:
    marks = [("start-up", 0.0), ("train", 1.0), ("checks", 3.5), ("train", 4.0)]
    assert spans(marks, 6.0) == {"start-up": 1.0, "train": 4.5, "checks": 0.5}


def test_timed_is_the_wall_time_of_the_action() -> None:
    import time

    assert 0.05 <= timed(lambda: time.sleep(0.05)) < 5
