"""Start-up and shutdown of the operator's long-lived parts, and kopf's settings.

Clients are built in kopf's startup handler and kept in ``memo`` (closed at cleanup), never as
module globals, so tests can run several operators in one process.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from .controller import Controller
from .drs.client import Timeouts, make_http_client
from .gateway import DrsGateway
from .kube import KubeApi
from .metrics import Metrics
from .model import GROUP
from .settings import Settings, describe

log = logging.getLogger(__name__)


def configure_kopf(settings: kopf.OperatorSettings) -> None:
    # Our own Events are one per transition; kopf's would be one per handler log line.
    settings.posting.enabled = False
    # Our own prefixes, should kopf ever need to mark an object (it does not with event
    # handlers only: no finalizers, no annotations).
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(prefix=GROUP)
    # Re-establish watches every 10 minutes: a silently dead TCP stream cannot hide changes
    # for longer than that (kopf issue #585 on long-lived watches behind load balancers).
    settings.watching.server_timeout = 600
    settings.watching.client_timeout = 630
    settings.watching.connect_timeout = 10
    # The event handler returns at once; an object's kopf worker can go idle quickly.
    settings.batching.idle_timeout = 5.0
    # Retry transient API errors inside kopf (reconnects) with a short capped backoff.
    settings.networking.error_backoffs = [1, 2, 5, 10]


async def startup(memo: kopf.Memo) -> None:
    config: Settings = memo.settings
    log.info("starting: %s", describe(config))
    metrics: Metrics | None = memo.get("metrics")
    if metrics is None:
        metrics = Metrics()
        metrics.serve(config.metrics_port)
    http = make_http_client(
        ca_bundle=config.ca_bundle,
        timeouts=Timeouts(read=config.request_timeout, write=min(10.0, config.request_timeout)),
        max_connections=config.max_concurrency,
    )
    memo.metrics = metrics
    memo.kube = KubeApi(metrics, threads=max(4, config.max_concurrency))
    memo.gateway = DrsGateway(config, metrics, http)
    memo.controller = Controller(config, memo.kube, memo.gateway, metrics)
    memo.controller.start()


async def shutdown(memo: Any) -> None:
    controller = memo.get("controller")
    if controller is not None:
        await controller.stop()
    if memo.get("gateway") is not None:
        await memo.gateway.aclose()
    if memo.get("kube") is not None:
        memo.kube.close()
