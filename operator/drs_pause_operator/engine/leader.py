"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's semantics.

Why a Lease and not kopf's peering: kopf peering makes operators that serve the same objects
pause each other (a peering CRD, priorities, a keep-alive), but it has no fencing: a peer only
learns that a higher-priority one exists on its next peering event, so for a while both may act,
and nothing stops a paused operator's requests already on their way. A Lease with client-go's
rules (``tools/leaderelection``, used by kube-controller-manager, kube-scheduler and every
controller-runtime operator) is what Kubernetes users know how to read (``kubectl get lease``)
and it bounds the time two replicas could both act: the leader stops acting when it has not
renewed for ``renew_deadline`` seconds, and a standby takes over only after it has seen the
Lease unchanged for ``lease_duration`` seconds, which is longer.

The decision (given the Lease as read, the local observation of it, the time and who I am:
create, acquire, renew or wait) is pure and lives in ``engine/lease.py``; :class:`LeaderElector`
is the I/O loop around it, on the synchronous ``kubernetes`` client in a small thread pool of
its own (a renewal never queues behind a burst of status writes).

Rules, as in client-go:

- the Lease's ``holderIdentity`` is this process (``HOSTNAME`` + a random suffix, so a
  restarted container is a new candidate); the Lease is free when the holder is empty or when
  this process has seen the same record for ``leaseDurationSeconds`` of its own monotonic clock
  (never the writer's ``renewTime``: clocks of two nodes differ);
- every write is an update with the ``resourceVersion`` that was read: 409 means another
  candidate wrote first, and this attempt is lost;
- ``leaderTransitions`` grows by one whenever the holder changes;
- the leader renews every ``retry_period``; when no renewal succeeded for ``renew_deadline``
  seconds (counted from the moment the last successful renewal was *sent*), it stops at once;
- on a clean shutdown the leader releases the Lease (empty holder, ``leaseDurationSeconds`` 1),
  so a standby takes over without waiting out the lease.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from drs_pause_operator.engine.lease import (
    Action,
    LeaseRecord,
    Observation,
    decide,
    default_identity,
    default_namespace,
    desired_spec,
    expired_leadership,
    observe,
    released_spec,
)

if TYPE_CHECKING:
    from urllib3 import BaseHTTPResponse

log = logging.getLogger(__name__)

JITTER = 1.2  # client-go's JitterFactor: a standby retries after retry_period x [1, 1.2)


# -- the I/O loop ----------------------------------------------------------------------------------


class LeaseConflict(Exception):
    """409: another candidate wrote the Lease (or created it) first."""


class LeaseNamespaceMissing(Exception):
    """404 on creating the Lease: its namespace does not exist."""


class LeaseApi:
    """GET/POST/PUT of one Lease through the ``kubernetes`` client, as plain JSON."""

    def __init__(self, namespace: str, name: str) -> None:
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config

        try:
            k8s_config.load_incluster_config()
        except k8s_config.ConfigException:
            k8s_config.load_kube_config()
        conf = k8s.Configuration.get_default_copy()
        conf.connection_pool_maxsize = 4
        self._api = k8s.ApiClient(conf)
        self._coordination = k8s.CoordinationV1Api(self._api)
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="lease")
        self.namespace = namespace
        self.name = name

    async def _call(
        self, fn: Callable[..., BaseHTTPResponse], *args: Any, budget: float
    ) -> dict[str, Any] | None:
        """The Lease as JSON; None when the API server answered 404."""
        from kubernetes.client.exceptions import ApiException

        def run() -> dict[str, Any] | None:
            try:
                answer = fn(*args, _preload_content=False,
                            _request_timeout=(min(budget, 5.0), budget))
            except ApiException as err:
                if err.status == 409:
                    raise LeaseConflict(str(err.reason)) from None
                if err.status == 404:
                    return None
                raise
            lease: dict[str, Any] = json.loads(answer.data)
            return lease

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, run)

    async def get(self, budget: float) -> dict[str, Any] | None:
        return await self._call(
            self._coordination.read_namespaced_lease, self.name, self.namespace, budget=budget
        )

    async def create(self, spec: dict[str, Any], budget: float) -> dict[str, Any]:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace}, "spec": spec}
        answer = await self._call(
            self._coordination.create_namespaced_lease, self.namespace, body, budget=budget
        )
        if answer is None:
            raise LeaseNamespaceMissing(f"namespace {self.namespace} does not exist (404)")
        return answer

    async def update(
        self, spec: dict[str, Any], resource_version: str, budget: float
    ) -> dict[str, Any]:
        body = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "resourceVersion": resource_version},
                "spec": spec}
        answer = await self._call(
            self._coordination.replace_namespaced_lease, self.name, self.namespace, body,
            budget=budget,
        )
        if answer is None:  # deleted meanwhile: someone else's business, try again
            raise LeaseConflict("the Lease was deleted")
        return answer

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._api.close()


class LeaderElector:
    """Campaign for the Lease; while leading, renew it; stop at once when it cannot be renewed.

    ``on_started`` runs when this process becomes the leader; ``on_stopped`` when it stops
    being the leader (before the loss is logged, so no pass of this process runs after the
    line). :meth:`run` returns when the leadership is lost: the caller campaigns again.
    """

    def __init__(
        self,
        api: Any,
        identity: str,
        *,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        on_started: Callable[[], None] = lambda: None,
        on_stopped: Callable[[], Awaitable[None]] | None = None,
        on_leading: Callable[[bool], None] = lambda _leading: None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.api = api
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_started = on_started
        self.on_stopped = on_stopped
        self.on_leading = on_leading
        self.clock = clock
        self.wall = wall
        self.rng = rng or random.Random()
        self.leading = False
        self._observed: Observation | None = None
        self._holder_seen: str | None = None
        self._failures = 0

    @property
    def where(self) -> str:
        return f"{getattr(self.api, 'namespace', '?')}/{getattr(self.api, 'name', '?')}"

    async def _attempt(self, budget: float) -> bool:
        """One try to acquire or renew: True when this process holds the Lease now."""
        deadline = self.clock() + budget

        def left() -> float:
            return max(0.2, deadline - self.clock())

        body = await self.api.get(left())
        now = self.clock()
        if body is None:
            self._observed = None
        else:
            self._observed = observe(self._observed, LeaseRecord.of(body), now)
        action = decide(self._observed, now, self.identity)
        record = self._observed.record if self._observed else None
        if record is not None and record.holder != self._holder_seen:
            self._holder_seen = record.holder
            if record.holder and record.holder != self.identity:
                log.info("the Lease %s is held by %s", self.where, record.holder)
        if action is Action.WAIT:
            return False
        spec = desired_spec(action, record, self.identity, self.wall(),
                            int(self.lease_duration))
        if action is Action.CREATE:
            written = await self.api.create(spec, left())
        else:
            assert record is not None
            written = await self.api.update(spec, record.resource_version, left())
        self._observed = observe(self._observed, LeaseRecord.of(written), self.clock())
        return True

    async def _try(self, budget: float) -> bool:
        try:
            ok = await asyncio.wait_for(self._attempt(budget), budget)
        except LeaseConflict:
            log.debug("Lease %s: another candidate wrote first (409)", self.where)
            return False
        except Exception as err:  # unreachable, 403, timeout: not now
            self._failures += 1
            level = logging.WARNING if self._failures in (1, 5) or self._failures % 30 == 0 \
                else logging.DEBUG
            log.log(level, "Lease %s: could not read or write it (%s: %s)", self.where,
                    type(err).__name__, str(err)[:300])
            return False
        self._failures = 0
        return ok

    async def run(self) -> None:
        """Campaign until leader, lead until the Lease cannot be renewed, then return."""
        log.info("leader election: Lease %s, identity %s (lease %ss, renew deadline %ss, "
                 "retry %ss)", self.where, self.identity, self.lease_duration,
                 self.renew_deadline, self.retry_period)
        while True:
            sent = self.clock()
            if await self._try(self.retry_period):
                break
            pause = self.retry_period * self.rng.uniform(1.0, JITTER) - (self.clock() - sent)
            await asyncio.sleep(max(0.0, pause))
        last_renewed = sent
        self.leading = True
        self.on_leading(True)
        log.info("leadership gained: %s holds the Lease %s (mono=%.3f)", self.identity,
                 self.where, self.clock())
        self.on_started()
        ending = "lost"
        try:
            while True:
                await asyncio.sleep(max(0.0, last_renewed + self.retry_period - self.clock()))
                while not expired_leadership(last_renewed, self.clock(), self.renew_deadline):
                    sent = self.clock()
                    budget = last_renewed + self.renew_deadline - sent
                    if await self._try(budget):
                        last_renewed = sent
                        break
                    if self._observed is not None and self._observed.record.holder not in (
                        "", self.identity
                    ):
                        log.warning("Lease %s was taken over by %s", self.where,
                                    self._observed.record.holder)
                        return
                    await asyncio.sleep(min(self.retry_period / 2,
                                            max(0.0, last_renewed + self.renew_deadline
                                                - self.clock())))
                else:
                    log.warning("could not renew the Lease %s within the renew deadline (%ss)",
                                self.where, self.renew_deadline)
                    return
        except asyncio.CancelledError:
            ending = "given up (shutdown)"
            raise
        finally:
            was_leading, self.leading = self.leading, False
            if was_leading:
                self.on_leading(False)
                if self.on_stopped is not None:
                    await asyncio.shield(self.on_stopped())
                log.info("leadership %s: %s stopped reconciling (mono=%.3f)", ending,
                         self.identity, self.clock())

    async def release(self, budget: float = 5.0) -> bool:
        """Give the Lease up if this process holds it (clean shutdown): True when released."""
        try:
            body = await asyncio.wait_for(self.api.get(budget), budget)
            if body is None:
                return False
            record = LeaseRecord.of(body)
            if record.holder != self.identity:
                return False
            await asyncio.wait_for(
                self.api.update(released_spec(record, self.wall()), record.resource_version,
                                budget),
                budget,
            )
        except Exception as err:
            log.warning("could not release the Lease %s (%s: %s)", self.where,
                        type(err).__name__, str(err)[:300])
            return False
        log.info("released the Lease %s", self.where)
        return True


# -- wiring into the operator (kopf's memo) --------------------------------------------------------


def start_election(memo: Any) -> LeaderElector:
    """Campaign in the background; the leader-only parts (``memo.controller``, and
    ``memo.windows`` when there is one) start only while this process holds the Lease.

    The standby keeps kopf's watch and the caches warm (the event handlers still feed them,
    and their queues fill), but runs no pass. When the leadership is lost the workers are
    cancelled at once and the DRS gateway is closed (a coalesced call not yet sent never
    goes); the process then campaigns again, with a new gateway (``memo.new_gateway``) when it
    leads again. It does not exit: an outage of the API server longer than the renew deadline
    must not cost a restart, only the time without passes.
    """
    settings = memo.settings
    followers = [c for c in (memo.get("controller"), memo.get("windows")) if c is not None]
    metrics = memo.get("metrics")
    api = LeaseApi(settings.lease_namespace or default_namespace(), settings.lease_name)
    terms = 0

    def started() -> None:
        nonlocal terms
        terms += 1
        renew = memo.get("new_gateway")
        if terms > 1 and renew is not None:
            renew()  # the old term's gateway was closed with its calls
        for follower in followers:
            follower.start()

    async def stopped() -> None:
        await asyncio.gather(*(f.stop() for f in followers), return_exceptions=True)
        gateway = memo.get("gateway")
        if gateway is not None:
            await gateway.aclose()

    def leading(value: bool) -> None:
        if metrics is not None:
            metrics.leader.set(1 if value else 0)

    elector = LeaderElector(
        api,
        default_identity(),
        lease_duration=settings.lease_duration,
        renew_deadline=settings.lease_renew_deadline,
        retry_period=settings.lease_retry_period,
        on_started=started,
        on_stopped=stopped,
        on_leading=leading,
    )
    for follower in followers:
        if hasattr(follower, "identity"):
            follower.identity = elector.identity
    leading(False)

    async def campaign() -> None:
        while True:
            await elector.run()
            log.warning("the leadership was lost; %s campaigns again and runs no pass until "
                        "it leads", elector.identity)

    memo.leader = elector
    memo.leader_task = asyncio.get_running_loop().create_task(campaign())
    return elector


async def stop_election(memo: Any) -> None:
    """Stop campaigning (clean shutdown); the caller stops the leader-only parts."""
    task = memo.get("leader_task")
    if task is not None and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def release_election(memo: Any) -> None:
    """Release the Lease if this process holds it, after everything that talks to DRS stopped."""
    elector: LeaderElector | None = memo.get("leader")
    if elector is None:
        return
    await elector.release()  # only if it still holds it
    elector.api.close()
