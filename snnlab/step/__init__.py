"""step: the order of work in a step, launch groups, and the runner loop."""

from .runner import TIMERS, Runner
from .schedule import GROUPS, Planned, step_schedule

__all__ = ["Runner", "TIMERS", "Planned", "step_schedule", "GROUPS"]
