"""Start-up and shutdown of the operator's long-lived parts, and kopf's settings.

Clients are built in kopf's startup handler and kept in ``memo`` (closed at cleanup), never as
module globals, so tests can run several operators in one process.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import kopf

from drs_pause_operator.app.metrics import Metrics, PhaseTally
from drs_pause_operator.app.settings import Settings, describe
from drs_pause_operator.drs.transport import Timeouts, make_http_client
from drs_pause_operator.engine import dump
from drs_pause_operator.engine.controller import Controller, RetryPolicy
from drs_pause_operator.engine.kube import KubeApi
from drs_pause_operator.engine.leader import release_election, start_election, stop_election
from drs_pause_operator.engine.object_pass import Reconciler
from drs_pause_operator.engine.objects import Entry, WindowEntry
from drs_pause_operator.engine.window_pass import (
    ERROR_RETRY,
    TIMER_SLACK,
    WORKERS,
    ChildWatch,
    WindowKube,
    WindowReconciler,
    utcnow,
)
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.spec import GROUP, KIND
from drs_pause_operator.resource.window import WINDOW_KIND

log = logging.getLogger(__name__)


class EventOnlyDiffBase(kopf.AnnotationsDiffBaseStorage):
    """A diff base that is never built.

    kopf builds the "essence" of every object on every event (a deep copy of the whole body,
    managedFields and status included) to find changes for change handlers and daemons. This
    operator has only an event handler, so nothing ever reads it. (bench, cProfile of a restart
    over 5,000 10-job objects: kopf's event processing took 19.1 s, 12.2 of them in this copy;
    5.0 s without it.) Use kopf's own storage again before adding a change handler or daemon.
    """

    def build(self, *, body: kopf.Body, extra_fields: Any = None) -> kopf.BodyEssence:
        return kopf.BodyEssence()


class EndlessBackoff:
    """1, 2, 5, 10, 10, 10... seconds: a fresh iterator for each request kopf retries (kopf
    chains ``iter(error_backoffs)`` per request; an iterable without ``len`` never runs out)."""

    def __iter__(self) -> Iterator[float]:
        return itertools.chain((1.0, 2.0, 5.0), itertools.repeat(10.0))


ENDLESS_BACKOFF = EndlessBackoff()


def configure_kopf(settings: kopf.OperatorSettings) -> None:
    # Our own Events are one per transition; kopf's would be one per handler log line.
    settings.posting.enabled = False
    # Our own prefixes, should kopf ever need to mark an object (it does not with event
    # handlers only: no finalizers, no annotations).
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = EventOnlyDiffBase(prefix=GROUP)
    # Re-establish watches every 10 minutes: a silently dead TCP stream cannot hide changes
    # for longer than that (kopf issue #585 on long-lived watches behind load balancers).
    settings.watching.server_timeout = 600
    settings.watching.client_timeout = 630
    settings.watching.connect_timeout = 10
    # List existing objects 100 at a time at start-up: kopf otherwise reads one LIST of every
    # object at once (5,000 10-job objects: a 25 MB answer, ~100 MiB parsed) and the process
    # keeps that high-water mark for good.
    settings.watching.chunk_size = 100
    # kopf keeps one worker task per object until it has been idle this long, and the worker
    # holds the object's last raw body (managedFields and all). The event handler returns at
    # once, so let workers go after 0.5 s instead of kopf's 5 s: a restart over 5,000 objects
    # otherwise holds most of their bodies at once. (bench, RSS after a restart over 5,000
    # 10-job objects: no chunking + 5 s 354 MiB, chunks of 500 + 5 s 238, 500 + 0.5 s 158,
    # 100 + 0.5 s 142; an operator with no objects: 94.) `settings.batching` is a deprecated
    # alias of settings.queueing that warns at every start.
    settings.queueing.idle_timeout = 0.5
    # No cluster-wide scanning of CRDs and namespaces: the CRD is installed before the operator
    # starts (discovery finds it) and namespaces are given by exact name, so kopf needs no
    # cluster-scoped permission at all in namespace-list mode (least privilege, see the chart).
    settings.scanning.disabled = True
    # Retry API errors inside kopf (connection refused, 5xx, 403, 429) without end: with a
    # finite list (it was [1, 2, 5, 10], 18 s) a watcher escalates the error once the list is
    # spent, e.g. while etcd or the API server is down for longer, kopf stops, and the
    # liveness endpoint is gone until it starts again. The operator recovers from any such
    # outage by itself, so its liveness must stay OK through it (tests/e2e/test_outages.py).
    settings.networking.error_backoffs = ENDLESS_BACKOFF


def _gateway(config: Settings, metrics: Metrics) -> DrsGateway:
    """The way out to DRS: one HTTP client (connection pool) and its coalescing gateway."""
    http = make_http_client(
        ca_bundle=config.ca_bundle,
        timeouts=Timeouts(
            read=config.request_timeout,
            write=min(10.0, config.request_timeout),
            total=config.request_timeout,  # the whole request: a slow drip is cut off too
        ),
        max_connections=config.max_concurrency,
    )
    return DrsGateway(config, metrics, http)


def pause_controller(
    config: Settings, kube: KubeApi, gateway: DrsGateway, metrics: Metrics
) -> tuple[Controller[Entry], Reconciler]:
    """The DrsJobPause controller and its reconciler."""
    policy = Policy(verify_timeout=config.verify_timeout)
    tally = PhaseTally(metrics)
    reconciler = Reconciler(config, kube, gateway, metrics, tally=tally, policy=policy)
    # A worker spends its pass waiting: on a status write, or for its jobs' place in a
    # coalesced DRS call. A call is only full when batch_size jobs wait at once, so the
    # workers must outnumber the DRS calls in flight: 2 x batch_size of them fill two full
    # calls even with one-job objects (one filling while one is out). They are idle tasks
    # otherwise, and the rate limiter and max_concurrency still bound what goes to DRS.
    controller = Controller(
        KIND,
        Entry.of,
        reconciler.reconcile,
        workers=max(config.max_concurrency, 2 * config.batch_size),
        retry=RetryPolicy(
            error=policy.error_retry,
            kube_unavailable=lambda: policy.kube_retry(reconciler.rng),
            cancelled=policy.transient_retry,
        ),
        forget=(reconciler.forget, tally.forget),
        on_stop=(tally.clear,),
        observe_duration=metrics.reconcile.observe,
    )
    return controller, reconciler


def window_controller(
    kube: WindowKube, clock: Callable[[], dt.datetime] = utcnow
) -> Controller[WindowEntry]:
    """The DrsPauseWindow controller: a timer and a creator of children per window."""
    return Controller(
        WINDOW_KIND,
        WindowEntry.of,
        WindowReconciler(kube, clock).reconcile,
        workers=WORKERS,
        retry=RetryPolicy(
            error=ERROR_RETRY, kube_unavailable=lambda: ERROR_RETRY, cancelled=ERROR_RETRY
        ),
        delay=TIMER_SLACK,
    )


async def startup(memo: kopf.Memo) -> None:
    config: Settings = memo.settings
    log.info("starting: %s", describe(config))
    if config.dry_run:
        log.warning("DRY RUN (--dry-run): every object only plans; no pause and no resume is "
                    "sent to DRS")
    metrics: Metrics | None = memo.get("metrics")
    if metrics is None:
        metrics = Metrics()
        metrics.serve(config.metrics_port)
    memo.metrics = metrics
    metrics.dry_run.set(1 if config.dry_run else 0)
    # Threads for Kubernetes writes (the client is synchronous). The API server, not this pool,
    # paces a burst: status PATCHes of a 10-job object cost it ~12 ms of CPU each, and 1, 4, 10
    # or 20 client threads all got the same ~60 writes/s on 2 cores (bench). 10 keeps a few in
    # flight without letting one operator crowd the API server.
    memo.kube = KubeApi(metrics, threads=max(4, config.max_concurrency))
    memo.gateway = _gateway(config, metrics)
    memo.controller, memo.reconciler = pause_controller(config, memo.kube, memo.gateway, metrics)

    def new_gateway() -> None:
        # A new leadership term: the last term's gateway was closed with its calls.
        memo.gateway = _gateway(config, metrics)
        memo.reconciler.gateway = memo.gateway

    memo.new_gateway = new_gateway
    memo.windows = window_controller(memo.kube)
    memo.children = ChildWatch(memo.windows.nudge)
    # Only the holder of the Lease runs passes (engine/leader.py): the election starts the
    # controllers' workers when this process becomes the leader.
    start_election(memo)
    dump.install(memo)  # kill -USR1: what is every pass waiting on?


async def shutdown(memo: Any) -> None:
    dump.uninstall()
    await stop_election(memo)
    controller = memo.get("controller")
    if controller is not None:
        await controller.stop()
    if memo.get("windows") is not None:
        await memo.windows.stop()
    if memo.get("gateway") is not None:
        await memo.gateway.aclose()
    await release_election(memo)  # nothing of this process talks to DRS any more
    if memo.get("kube") is not None:
        memo.kube.close()
