"""penguins/metric_names.py: the one place a metric is named. evaluate writes what the tools show, by those names."""

from __future__ import annotations

import re

import numpy as np

from penguins.evaluation import score
from penguins.metric_names import TEST_METRICS, VAL_ACCURACY
from tools import exp_show
from tools.sweep.collect import DEFAULT_METRIC, DEFAULT_SHOW


def test_evaluate_writes_every_shown_metric_and_the_tools_show_them() -> None:
    written = score(["a", "b"], np.array([[0.9, 0.1], [0.2, 0.8]]), ["a", "b"])
    assert set(TEST_METRICS) <= set(written), "score() does not write a metric the tools show"
    for name in (*TEST_METRICS, VAL_ACCURACY):
        assert re.fullmatch(exp_show.KEEP, name) and not re.match(exp_show.DROP, name), f"exp-show drops {name}"
    assert set(TEST_METRICS) <= set(DEFAULT_SHOW) and DEFAULT_METRIC == VAL_ACCURACY
    assert exp_show.TEST_FILE[1] == TEST_METRICS
