"""Run the kopf operator with our registry, settings and memo."""

from __future__ import annotations

import asyncio
import logging

import kopf

from drs_pause_operator.app.settings import Settings
from drs_pause_operator.engine.handlers import registry

log = logging.getLogger(__name__)

# kopf discovers the served resources once at start (cluster scanning is off, see runtime.py). If
# the API server does not serve drsjobpauses at that moment (it is restarting, or the CRD is not
# installed yet), kopf logs this and never watches them. The operator then starts kopf again.
UNRESOLVED = "Unresolved resources cannot be served"
RESTART_DELAY = 5.0


class _UnresolvedWatch(logging.Handler):
    def __init__(self, stop: asyncio.Event) -> None:
        super().__init__(logging.WARNING)
        self.stop = stop
        self.fired = False

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(UNRESOLVED):
            self.fired = True
            self.stop.set()


async def run_operator(
    settings: Settings,
    *,
    liveness: str | None = None,
    peering: str | None = None,
    memo: kopf.Memo | None = None,
    stop_flag: asyncio.Event | None = None,
    ready_flag: object | None = None,
) -> None:
    memo = memo if memo is not None else kopf.Memo()
    memo.settings = settings
    kopf_log = logging.getLogger("kopf")
    while True:
        stop = asyncio.Event()
        watch = _UnresolvedWatch(stop)
        kopf_log.addHandler(watch)
        relay = None
        if stop_flag is not None:
            relay = asyncio.create_task(_relay(stop_flag, stop))
        try:
            await kopf.operator(
                registry=registry,
                memo=memo,
                clusterwide=not settings.namespaces,
                namespaces=list(settings.namespaces),
                standalone=peering is None,
                peering_name=peering,
                liveness_endpoint=liveness,
                stop_flag=stop,
                ready_flag=ready_flag,  # type: ignore[arg-type]
            )
        finally:
            kopf_log.removeHandler(watch)
            if relay is not None:
                relay.cancel()
        if not watch.fired or (stop_flag is not None and stop_flag.is_set()):
            return
        log.warning(
            "the API server does not serve drsjobpauses.drs.cloudops.dev (is the CRD installed? "
            "is the API server restarting?); starting the watch again in %ss", RESTART_DELAY
        )
        await asyncio.sleep(RESTART_DELAY)


async def _relay(source: asyncio.Event, target: asyncio.Event) -> None:
    await source.wait()
    target.set()
