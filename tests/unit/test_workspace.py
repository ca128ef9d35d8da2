"""tools/repo/run.py's pure helpers, shared by the tools and benchmarks."""

from __future__ import annotations

from tools.repo.run import last_error, spans


def test_spans_split_the_time_at_the_marks_and_sum_a_recurring_part() -> None:
    marks = [("start-up", 0.0), ("train", 1.0), ("checks", 3.5), ("train", 4.0)]
    assert spans(marks, 6.0) == {"start-up": 1.0, "train": 4.5, "checks": 0.5}


def test_last_error_prefers_the_first_error_line() -> None:
    assert last_error("Running stage 'x'\nERROR: first\nerror: second\n") == "ERROR: first"
    assert last_error("a\n\nlast line\n") == "last line"
    assert last_error("") == "(no output)"
