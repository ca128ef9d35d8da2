"""penguins.progress: training's progress lines on stderr, few, saying what is left (no TensorFlow: a fake clock).
That fit() prints them through Keras: tests/unit/test_model_stages.py (test_fit_is_deterministic)."""

from __future__ import annotations

import io

from penguins.progress import Progress, duration


class Clock:
    def __init__(self, *times: float) -> None:
        self.times = list(times)

    def __call__(self) -> float:
        return self.times.pop(0)


def test_progress_lines_are_few_and_say_what_is_left() -> None:
    """A line per tenth of the epochs (10 for 100 epochs), elapsed and estimated time left; the last says done."""
    stream = io.StringIO()
    progress = Progress(100, stream, clock=Clock(0.0, *[0.05 * n for n in range(0, 101)]))
    progress.start()
    for epoch in range(1, 101):
        progress.epoch_done(epoch)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0] == "train: epoch 10/100, 0.5 s elapsed, about 4.5 s left"
    assert lines[-1] == "train: epoch 100/100, 5.0 s elapsed, done"


def test_progress_of_slow_epochs_every_30_seconds() -> None:
    """1000 epochs of 4 s: a line at least every 30 s (the 8th epoch), not only every 100 epochs."""
    progress = Progress(1000, io.StringIO(), clock=Clock(0.0, *[4.0 * n for n in range(1, 11)]))
    progress.start()
    assert [progress.line(epoch) for epoch in range(1, 9)][-1] == (
        "train: epoch 8/1000, 32.0 s elapsed, about 1 h 06 min left"
    )
    assert progress.line(9) is None
    assert [duration(s) for s in (0.04, 59.94, 65, 3599, 7380)] == [
        "0.0 s",
        "59.9 s",
        "1 min 05 s",
        "59 min 59 s",
        "2 h 03 min",
    ]


def test_keras_hooks_start_the_clock_and_count_epochs_from_one() -> None:
    """Keras numbers epochs from 0 (LambdaCallback's on_epoch_end(epoch, logs)); the lines from 1."""
    stream = io.StringIO()
    progress = Progress(2, stream, clock=Clock(0.0, 10.0, 11.0, 12.0))
    hooks = progress.hooks()
    hooks["on_train_begin"]({})  # the clock restarts at 10.0: set-up before training is not counted
    hooks["on_epoch_end"](0, {})
    hooks["on_epoch_end"](1, {})
    assert stream.getvalue().splitlines() == [
        "train: epoch 1/2, 1.0 s elapsed, about 1.0 s left",
        "train: epoch 2/2, 2.0 s elapsed, done",
    ]
