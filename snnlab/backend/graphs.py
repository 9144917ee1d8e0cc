"""Many steps per launch: a captured schedule replayed as a whole.

The step schedule is static (its arguments change only when ``bind`` is
called again, and the step counter lives on the device), so a run of ``k``
steps can be captured once, as a CUDA graph on the ``cuda`` target, and
replayed: Python then issues one call per ``k`` steps instead of one per
kernel.  :class:`StepGraphs` holds the target-independent part: which
captures a run of ``n`` steps needs and when they are stale.  It is tested
on the CPU target with a capture that runs the CPU driver.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["StepGraphs"]


class StepGraphs:
    """Run ``n`` steps as replays of captured runs of a few sizes.

    capture : callable
        ``capture(k)`` records ``k`` steps of the bound schedule and returns
        a callable that replays them.
    max_steps : int
        Steps in the largest capture (a power of two).  ``n`` steps take
        ``n // max_steps`` replays of it and, for the rest, at most one
        replay each of the smaller powers of two: at most
        ``log2(max_steps) + 1`` captures ever, each made on first use.
    """

    def __init__(self, capture: Callable[[int], Callable[[], None]], max_steps: int = 64):
        if max_steps < 1 or max_steps & (max_steps - 1):
            raise ValueError(f"max_steps must be a power of two, got {max_steps}")
        self.capture = capture
        self.max_steps = max_steps
        self._replays: dict[int, Callable[[], None]] = {}
        self.captures = 0  # how many captures were made (stale ones included)
        self.done = 0  # steps replayed by the last run (less than asked if it raised)

    def invalidate(self) -> None:
        """Forget every capture (the schedule's arguments changed)."""
        self._replays.clear()

    def plan(self, n: int) -> list[int]:
        """Capture sizes to replay, in order, for ``n`` steps."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        sizes = [self.max_steps] * (n // self.max_steps)
        rest, bit = n % self.max_steps, self.max_steps // 2
        while rest:
            if rest >= bit:
                sizes.append(bit)
                rest -= bit
            bit //= 2
        return sizes

    def run(self, n: int) -> None:
        self.done = 0
        for k in self.plan(n):
            replay = self._replays.get(k)
            if replay is None:
                replay = self._replays[k] = self.capture(k)
                self.captures += 1
            replay()
            self.done += k
