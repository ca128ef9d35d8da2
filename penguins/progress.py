"""Training progress on stderr, for people watching `dvc repro` or `dvc queue logs`: a long run is visibly alive.

A small module rather than tqdm (in the lock through DVC): off a terminal, as under DVC, tqdm redraws its bar
with carriage returns instead of writing one readable line per update. No TensorFlow here: Keras calls it through
keras.callbacks.LambdaCallback (penguins.modeling.fit).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def duration(seconds: float) -> str:
    """12.3 s, 4 min 05 s, 2 h 03 min: for people reading progress lines."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min {int(seconds % 60):02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class Progress:
    """Training progress on stderr (`train: epoch 30/100, 0.6 s elapsed, about 1.4 s left`), for `dvc repro` and
    `dvc queue logs`: a long run is visibly alive, and how long it will take is known early.

    A line every tenth of the epochs (10 lines for any run of 10 epochs or more, one per epoch below that), and
    one at least every ``every_s`` seconds when epochs are slow, so a long run never looks stuck. stderr is not
    a pipeline output: nothing DVC hashes changes."""

    def __init__(
        self,
        epochs: int,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = 30.0,
        parts: int = 10,
    ) -> None:
        self.epochs, self.stream, self.clock, self.every_s, self.parts = epochs, stream, clock, every_s, parts
        self.start()

    def start(self) -> None:
        self.started = self.last_time = self.clock()
        self.last_part = 0

    def line(self, epoch: int) -> str | None:
        """The line to print after ``epoch`` (1-based) is done, or None when it is not due."""
        now = self.clock()
        part = epoch * self.parts // self.epochs
        if part == self.last_part and now - self.last_time < self.every_s and epoch < self.epochs:
            return None
        self.last_part, self.last_time = part, now
        elapsed = now - self.started
        left = "done" if epoch >= self.epochs else f"about {duration(elapsed / epoch * (self.epochs - epoch))} left"
        return f"train: epoch {epoch}/{self.epochs}, {duration(elapsed)} elapsed, {left}"

    def hooks(self) -> dict[str, Callable[..., None]]:
        """Keras callback hooks (for keras.callbacks.LambdaCallback): the clock starts with training, a line may
        follow each epoch. Epoch hooks only: Keras' graph calls are unchanged."""
        return {
            "on_train_begin": lambda logs: self.start(),
            "on_epoch_end": lambda epoch, logs: self.epoch_done(epoch + 1),
        }

    def epoch_done(self, epoch: int) -> None:
        text = self.line(epoch)
        if text is not None:
            stream = self.stream or sys.stderr
            print(text, file=stream, flush=True)
