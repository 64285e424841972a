"""When to try again (resource/policy.py): the backoff of a leg, verification polls, and the
re-check of a stalled object."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from drs_pause_operator.resource.conditions import merge_conditions
from drs_pause_operator.resource.policy import POLL_MAX, POLL_MIN, Policy, poll_interval

from ..values import NOW, at


@pytest.mark.parametrize(
    ("waited", "seconds"),
    [(0, POLL_MIN), (1, POLL_MIN), (2, POLL_MIN), (8, 2.0), (40, POLL_MAX), (10**6, POLL_MAX)],
)
def test_poll_interval_is_a_quarter_of_the_wait_within_bounds(
    waited: float, seconds: float
) -> None:
    assert poll_interval(at(-waited), NOW) == dt.timedelta(seconds=seconds)


def test_poll_interval_without_an_accepted_time_is_the_shortest() -> None:
    assert poll_interval(None, NOW) == dt.timedelta(seconds=POLL_MIN)


@pytest.mark.parametrize("failures", [1, 2, 5, 9, 30])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_retry_at_is_capped_exponential_with_jitter(failures: int, seed: int) -> None:
    policy = Policy(backoff_base=1, backoff_cap=300)
    wait = (policy.retry_at(failures, None, NOW, random.Random(seed)) - NOW).total_seconds()
    ceiling = min(300.0, 2.0 ** (failures - 1))
    assert ceiling / 2 <= wait <= ceiling


@pytest.mark.parametrize("retry_after", [0.0, 5.0, 120.0, 3600.0])
def test_retry_at_is_never_sooner_than_retry_after(retry_after: float) -> None:
    at_ = Policy().retry_at(1, retry_after, NOW, random.Random(1))
    assert at_ >= NOW + dt.timedelta(seconds=retry_after)


@pytest.mark.parametrize("retry_after", [float("inf"), 1e300, float("nan"), -5.0])
def test_retry_at_survives_absurd_retry_after(retry_after: float) -> None:
    at_ = Policy().retry_at(1, retry_after, NOW, random.Random(1))
    assert NOW < at_ <= NOW + dt.timedelta(seconds=3600)


def test_a_stalled_object_is_rechecked_soon_then_less_often() -> None:
    policy = Policy(stalled_min=2, stalled_max=60)

    def stalled_since(seconds: float) -> dict[str, object]:
        conds = merge_conditions(None, [("Stalled", "True", "X", "")], 1, at(-seconds))
        return {"conditions": conds}

    assert policy.stalled_backoff(None, NOW) == 2
    assert policy.stalled_backoff(stalled_since(1), NOW) == 2
    assert policy.stalled_backoff(stalled_since(40), NOW) == 20
    assert policy.stalled_backoff(stalled_since(3600), NOW) == 60


def test_kube_retry_is_within_its_bounds() -> None:
    policy = Policy(kube_retry_min=2, kube_retry_max=5)
    rng = random.Random(3)
    waits = [policy.kube_retry(rng) for _ in range(200)]
    assert all(2 <= w <= 5 for w in waits) and max(waits) - min(waits) > 1
