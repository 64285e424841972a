"""A task's replication delay (``incre_trans_delay``): how far the target is behind the source.

The delay is a piecewise linear function of time. While the task is paused in its incremental
phase the source keeps writing, so the delay grows (``growth`` seconds per second). While it
replicates again it shrinks at the catch-up rate down to a floor, and it never shrinks below a
value that is already under the floor. In any other state it stands still.

Nothing runs in the background: the state machine (``state.TaskStore``) brings a task's delay up
to a moment, under the state the task had until then, before every change of state and on every
read. So the value is exact at any moment, whatever the order of reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: How the delay moves in a state: grows (paused), shrinks (replicating), or stands still.
Motion = Literal["grows", "shrinks", "still"]


@dataclass(frozen=True)
class DelayRates:
    """The simulator-wide rates (settings ``delay_growth_per_second``,
    ``delay_catch_up_per_second``, ``delay_floor_seconds``)."""

    growth: float = 1.0
    catch_up: float = 10.0
    floor: float = 0.0


@dataclass
class ReplicationDelay:
    """One task's delay: ``seconds`` as of the clock reading ``stamp``. ``growth`` and
    ``catch_up`` override the simulator-wide rates for this task (None = use those)."""

    seconds: float = 0.0
    stamp: float = 0.0
    growth: float | None = None
    catch_up: float | None = None

    def advance(self, until: float, motion: Motion, rates: DelayRates) -> None:
        """Bring the delay to the clock reading ``until``, moving as ``motion`` says all along.
        A reading before ``stamp`` (the clock never goes back) changes nothing."""
        elapsed = until - self.stamp
        if elapsed <= 0:
            return
        self.stamp = until
        if motion == "grows":
            self.seconds += elapsed * (rates.growth if self.growth is None else self.growth)
        elif motion == "shrinks" and self.seconds > rates.floor:
            rate = rates.catch_up if self.catch_up is None else self.catch_up
            self.seconds = max(rates.floor, self.seconds - elapsed * rate)

    def reset(self, seconds: float, now: float) -> None:
        """Set the delay as of ``now``."""
        self.seconds = seconds
        self.stamp = now
