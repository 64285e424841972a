"""Leader election: the pure decision (fake clock) and the loop against an in-memory Lease with
the API server's optimistic concurrency (resourceVersion, 409)."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn

import pytest
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.engine.leader import (
    LeaderElector,
    LeaseApi,
    LeaseConflict,
    LeaseNamespaceMissing,
)
from drs_pause_operator.engine.lease import (
    Action,
    LeaseRecord,
    Observation,
    decide,
    default_identity,
    default_namespace,
    desired_spec,
    expired_leadership,
    micro_time,
    observe,
    released_spec,
)

WALL = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


def record(holder: str = "a", rv: str = "1", renew: str = "t0", duration: int = 15,
           transitions: int = 0) -> LeaseRecord:
    return LeaseRecord(holder, duration, "t0", renew, transitions, rv)


# -- the decision --------------------------------------------------------------------------------


def test_no_lease_is_created() -> None:
    assert decide(None, 100.0, "me") is Action.CREATE


def test_my_lease_is_renewed() -> None:
    assert decide(Observation(record("me"), 0.0), 1000.0, "me") is Action.RENEW


def test_another_holder_is_waited_for_until_seen_unchanged_for_the_lease_duration() -> None:
    seen = observe(None, record("other"), now=100.0)
    assert decide(seen, 100.0, "me") is Action.WAIT
    assert decide(seen, 114.9, "me") is Action.WAIT
    assert decide(seen, 115.0, "me") is Action.ACQUIRE


def test_a_renewal_restarts_the_count_whatever_the_clocks_say() -> None:
    # The record's renewTime is the writer's wall clock: never compared with ours. Only a
    # change of the record (seen on our monotonic clock) counts.
    first = observe(None, record("other", rv="1", renew="t0"), now=100.0)
    same = observe(first, record("other", rv="1", renew="t0"), now=110.0)
    assert same.at == 100.0
    renewed = observe(same, record("other", rv="2", renew="t1"), now=112.0)
    assert renewed.at == 112.0
    assert decide(renewed, 120.0, "me") is Action.WAIT
    assert decide(renewed, 127.0, "me") is Action.ACQUIRE


def test_a_released_lease_is_free_at_once() -> None:
    seen = observe(None, record("", duration=1), now=50.0)
    assert decide(seen, 50.0, "me") is Action.ACQUIRE


def test_specs_written() -> None:
    fresh = desired_spec(Action.CREATE, None, "me", WALL, 15)
    assert fresh == {"holderIdentity": "me", "leaseDurationSeconds": 15,
                     "acquireTime": "2026-03-01T12:00:00.000000Z",
                     "renewTime": "2026-03-01T12:00:00.000000Z", "leaseTransitions": 0}
    old = LeaseRecord("other", 15, "2026-01-01T00:00:00.000000Z", "x", 4, "9")
    taken = desired_spec(Action.ACQUIRE, old, "me", WALL, 15)
    assert taken["leaseTransitions"] == 5 and taken["acquireTime"] == micro_time(WALL)
    mine = LeaseRecord("me", 15, "2026-01-01T00:00:00.000000Z", "x", 5, "10")
    renewed = desired_spec(Action.RENEW, mine, "me", WALL + dt.timedelta(seconds=2), 15)
    assert renewed["leaseTransitions"] == 5
    assert renewed["acquireTime"] == "2026-01-01T00:00:00.000000Z"
    assert renewed["renewTime"] == "2026-03-01T12:00:02.000000Z"
    gone = released_spec(mine, WALL)
    assert gone["holderIdentity"] == "" and gone["leaseDurationSeconds"] == 1
    assert gone["leaseTransitions"] == 5


def test_leader_stops_when_the_renew_deadline_passed_since_the_last_renewal_was_sent() -> None:
    assert not expired_leadership(100.0, 109.9, 10.0)
    assert expired_leadership(100.0, 110.0, 10.0)


def test_identity_and_namespace_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTNAME", "drs-pause-operator-7d9f-abcde")
    one, two = default_identity(), default_identity()
    assert one.startswith("drs-pause-operator-7d9f-abcde_") and one != two
    mounted = tmp_path / "namespace"
    assert default_namespace(mounted, {"POD_NAMESPACE": "ops"}) == "ops"
    assert default_namespace(mounted, {}) == "default"
    mounted.write_text("drs-system\n")
    assert default_namespace(mounted, {"POD_NAMESPACE": "ops"}) == "drs-system"


# -- the loop, on a fake clock and an in-memory API server ---------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLeases:
    """One Lease with resourceVersions; ``down`` makes every call fail as unreachable."""

    def __init__(self) -> None:
        self.body: dict[str, Any] | None = None
        self.rv = 0
        self.down = False
        self.writes: list[dict[str, Any]] = []
        self.namespace, self.name = "ns", "lease"

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("unreachable")

    async def get(self, budget: float) -> dict[str, Any] | None:
        self._check()
        return copy.deepcopy(self.body)

    def _store(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        self.body = {"metadata": {"resourceVersion": str(self.rv)}, "spec": dict(spec)}
        self.writes.append(dict(spec))
        return copy.deepcopy(self.body)

    async def create(self, spec: dict[str, Any], budget: float) -> dict[str, Any]:
        self._check()
        if self.body is not None:
            raise LeaseConflict("exists")
        return self._store(spec)

    async def update(self, spec: dict[str, Any], rv: str, budget: float) -> dict[str, Any]:
        self._check()
        if self.body is None or self.body["metadata"]["resourceVersion"] != rv:
            raise LeaseConflict("conflict")
        return self._store(spec)

    def close(self) -> None:
        pass


def elector(api: FakeLeases, me: str, clock: Clock, events: list[str]) -> LeaderElector:
    async def stopped() -> None:
        events.append(f"{me} stopped")

    return LeaderElector(
        api, me, clock=clock, wall=lambda: WALL, rng=random.Random(1),
        on_started=lambda: events.append(f"{me} started"), on_stopped=stopped,
    )


async def run_until(clock: Clock, condition, limit: float = 120.0, step: float = 0.1) -> None:
    """Advance the fake clock in small steps, letting the loop run in between."""
    end = clock.now + limit
    while not condition():
        assert clock.now < end, "condition not reached"
        clock.now += step
        for _ in range(5):
            await REAL_SLEEP(0)


REAL_SLEEP = asyncio.sleep
CLOCK = Clock()


@pytest.fixture
def fast_sleep(monkeypatch: pytest.MonkeyPatch):
    """asyncio.sleep on the fake clock: it yields until CLOCK has advanced by the delay."""

    async def sleep(delay: float, result: Any = None) -> Any:
        until = CLOCK.now + delay
        await REAL_SLEEP(0)
        while CLOCK.now < until:
            await REAL_SLEEP(0)
        return result

    monkeypatch.setattr(asyncio, "sleep", sleep)


async def test_two_candidates_elect_one_and_the_standby_takes_over_after_the_lease(
    fast_sleep: None,
) -> None:
    clock, api, events = CLOCK, FakeLeases(), []
    a, b = elector(api, "a", clock, events), elector(api, "b", clock, events)
    task_a = asyncio.create_task(a.run())
    await run_until(clock, lambda: a.leading)
    task_b = asyncio.create_task(b.run())
    await run_until(clock, lambda: len(api.writes) >= 5)  # a renews, b waits
    assert a.leading and not b.leading
    assert {w["holderIdentity"] for w in api.writes} == {"a"}
    assert api.body is not None and api.body["spec"]["leaseTransitions"] == 0
    # a freezes (SIGKILL): b takes over after having seen the Lease unchanged for 15 s.
    task_a.cancel()
    await asyncio.gather(task_a, return_exceptions=True)
    frozen = clock.now
    await run_until(clock, lambda: b.leading)
    assert 15.0 <= clock.now - frozen <= 15.0 + 2.0 * 1.2 + 0.5
    assert api.body["spec"]["holderIdentity"] == "b"
    assert api.body["spec"]["leaseTransitions"] == 1
    task_b.cancel()
    await asyncio.gather(task_b, return_exceptions=True)
    assert events == ["a started", "a stopped", "b started", "b stopped"]


async def test_leader_cut_off_stops_within_the_renew_deadline_before_anyone_could_take_over(
    fast_sleep: None,
) -> None:
    clock, api, events = CLOCK, FakeLeases(), []
    a = elector(api, "a", clock, events)
    task = asyncio.create_task(a.run())
    await run_until(clock, lambda: a.leading)
    renewals = len(api.writes)
    await run_until(clock, lambda: len(api.writes) > renewals)
    last_write = clock.now
    api.down = True
    await run_until(clock, task.done)
    assert events == ["a started", "a stopped"] and not a.leading
    # Stopped no later than the renew deadline after the last renewal went out, so before a
    # standby (15 s from when it saw that renewal) may act.
    assert clock.now - last_write <= 10.0 + 0.2
    assert clock.now - last_write < 15.0


async def test_a_lost_race_is_a_409_and_the_winner_leads(fast_sleep: None) -> None:
    clock, api, events = CLOCK, FakeLeases(), []
    api._store({"holderIdentity": "", "leaseDurationSeconds": 1, "leaseTransitions": 3})
    a, b = elector(api, "a", clock, events), elector(api, "b", clock, events)
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    await run_until(clock, lambda: a.leading or b.leading)
    await run_until(clock, lambda: len(api.writes) >= 6)
    assert a.leading != b.leading
    winner = "a" if a.leading else "b"
    assert {w["holderIdentity"] for w in api.writes[1:]} == {winner}
    assert api.body is not None and api.body["spec"]["leaseTransitions"] == 4
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_taken_over_lease_stops_the_old_leader_at_once(fast_sleep: None) -> None:
    clock, api, events = CLOCK, FakeLeases(), []
    a = elector(api, "a", clock, events)
    task = asyncio.create_task(a.run())
    await run_until(clock, lambda: a.leading)
    api._store({"holderIdentity": "intruder", "leaseDurationSeconds": 15})
    started = clock.now
    await run_until(clock, task.done)
    assert clock.now - started <= 2.0 + 0.2  # the next renewal sees it
    assert events == ["a started", "a stopped"]


async def test_release_only_when_holding(fast_sleep: None) -> None:
    clock, api, events = CLOCK, FakeLeases(), []
    a = elector(api, "a", clock, events)
    task = asyncio.create_task(a.run())
    await run_until(clock, lambda: a.leading)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert await a.release() is True
    assert api.body is not None
    spec = api.body["spec"]
    assert spec["holderIdentity"] == "" and spec["leaseDurationSeconds"] == 1
    other = elector(api, "b", clock, events)
    api._store({"holderIdentity": "c", "leaseDurationSeconds": 15})
    assert await other.release() is False
    assert api.body["spec"]["holderIdentity"] == "c"


# -- LeaseApi: how the API server's answers read ---------------------------------------------------


class NotFound:
    """A CoordinationV1Api whose every call is answered 404."""

    def _not_found(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ApiException(status=404, reason="Not Found")

    read_namespaced_lease = create_namespaced_lease = replace_namespaced_lease = _not_found


async def test_a_404_is_no_lease_on_read_a_missing_namespace_on_create_a_conflict_on_update(
) -> None:
    api = LeaseApi.__new__(LeaseApi)  # no kubeconfig needed: only the answers are under test
    api.namespace, api.name = "nowhere", "drs-pause-operator"
    api._coordination = NotFound()
    api._pool = ThreadPoolExecutor(1)
    try:
        assert await api.get(1.0) is None
        with pytest.raises(LeaseNamespaceMissing, match="namespace nowhere does not exist"):
            await api.create({"holderIdentity": "a"}, 1.0)
        with pytest.raises(LeaseConflict, match="deleted"):
            await api.update({"holderIdentity": "a"}, "7", 1.0)
    finally:
        api._pool.shutdown()
