"""When to try again: the one home of every delay a pass may choose (pure).

Whether an answer is transient at all is decided in ``drs/retry.py``; this says how long to wait
after each kind of setback.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drs_pause_operator.drs.retry import MAX_RETRY_AFTER, next_delay
from drs_pause_operator.resource.conditions import condition
from drs_pause_operator.resource.formats import parse_time

# Verification polls: quick at first (a pause usually lands within a second), then every 10 s.
POLL_MIN, POLL_MAX = 0.5, 10.0


@dataclass(frozen=True)
class Policy:
    verify_timeout: float = 600.0  # 0 = trust the API's "success" without batch-status
    # A leg's own answer was transient: capped exponential backoff with jitter.
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    # An operator-level problem (Secret, endpoint, credentials): re-checked soon after it
    # appeared, then less often (half the time it has lasted, within these bounds).
    stalled_min: float = 2.0
    stalled_max: float = 60.0
    # A whole DRS call failed transiently: nothing of the object is tried again sooner, whatever
    # its jobs' own schedule says (no hot loop while DRS is down).
    transient_retry: float = 3.0
    # The Kubernetes API was unreachable or answered 429/5xx: look again soon, with jitter
    # (nothing is lost: the status holds the write-ahead attempt).
    kube_retry_min: float = 2.0
    kube_retry_max: float = 5.0
    # A pass failed with an unexpected error (a bug): try again, but not in a loop.
    error_retry: float = 60.0

    def stalled_backoff(self, status: Mapping[str, Any] | None, now: dt.datetime) -> float:
        """Seconds until a stalled object is re-checked (from its Stalled transition time)."""
        since = parse_time((condition(status, "Stalled") or {}).get("lastTransitionTime")) or now
        waited = (now - since).total_seconds()
        return min(self.stalled_max, max(self.stalled_min, waited / 2))

    def kube_retry(self, rng: random.Random) -> float:
        return rng.uniform(self.kube_retry_min, self.kube_retry_max)

    def retry_at(
        self,
        failures: int,
        retry_after: float | None,
        now: dt.datetime,
        rng: random.Random | None,
    ) -> dt.datetime:
        """When a leg goes again after its ``failures``-th transient answer: capped
        exponential backoff with jitter, never sooner than Retry-After."""
        delay = next_delay(
            failures, retry_after, base=self.backoff_base, cap=self.backoff_cap, rng=rng
        )
        # The client caps Retry-After already; an absurd value must not break the pass.
        delay = min(delay, max(MAX_RETRY_AFTER, self.backoff_cap))
        return now + dt.timedelta(seconds=delay)


def poll_interval(accepted: dt.datetime | None, now: dt.datetime) -> dt.timedelta:
    """The next verification poll: a quarter of the time waited so far, within the bounds."""
    waited = (now - (accepted or now)).total_seconds()
    return dt.timedelta(seconds=min(POLL_MAX, max(POLL_MIN, waited / 4)))
