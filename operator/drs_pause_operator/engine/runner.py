"""Run the kopf operator with our registry, settings and memo.

kopf discovers the served resources once, at start (cluster scanning is off, see startup.py):
if the API server does not serve drsjobpauses or drspausewindows at that moment (it is
restarting, or a CRD is not installed yet), kopf would run without ever watching them. So the
runner asks the API server's discovery first and starts kopf only once both are served.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import kopf

from drs_pause_operator.app.settings import Settings
from drs_pause_operator.engine.handlers import registry
from drs_pause_operator.resource.spec import GROUP, PLURAL, VERSION
from drs_pause_operator.resource.window import WINDOW_PLURAL

log = logging.getLogger(__name__)

RETRY_DELAY = 5.0  # between discovery attempts while the resource is not served


#: The kinds the operator watches: kopf would never watch one that is not served at its start.
PLURALS = (PLURAL, WINDOW_PLURAL)


def resource_served() -> bool:
    """Does the API server's discovery list both kinds? (False on any error: ask again.)

    Discovery is readable by every authenticated client (the ``system:discovery`` role), so
    this needs no grant beyond what the operator has.
    """
    from kubernetes import client, config

    try:
        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        with client.ApiClient() as api:
            found = client.CustomObjectsApi(api).get_api_resources(
                GROUP, VERSION, _request_timeout=10
            )
    except Exception as err:  # unreachable, 404 (no such group), 5xx: not served now
        log.debug("discovery of %s/%s failed: %s", GROUP, VERSION, err)
        return False
    names = {r.name for r in (found.resources or [])}
    return all(plural in names for plural in PLURALS)


async def wait_until_served(
    stop_flag: asyncio.Event | None,
    served: Callable[[], bool] = resource_served,
    delay: float = RETRY_DELAY,
) -> bool:
    """Wait until the resource is served; False when asked to stop first."""
    warned = False
    while not (stop_flag is not None and stop_flag.is_set()):
        if await asyncio.to_thread(served):
            if warned:
                log.info("the API server serves %s now; starting the watch", GROUP)
            return True
        if not warned:
            log.warning(
                "the API server does not serve %s in %s (are the CRDs installed? is the API "
                "server restarting?); asking again every %ss",
                " and ".join(PLURALS),
                GROUP,
                delay,
            )
            warned = True
        try:
            if stop_flag is None:
                await asyncio.sleep(delay)
            else:
                await asyncio.wait_for(stop_flag.wait(), delay)
        except TimeoutError:
            pass
    return False


async def run_operator(
    settings: Settings,
    *,
    liveness: str | None = None,
    peering: str | None = None,
    memo: kopf.Memo | None = None,
    stop_flag: asyncio.Event | None = None,
    ready_flag: asyncio.Event | None = None,
    served: Callable[[], bool] = resource_served,
) -> int:
    """Run until asked to stop (``stop_flag``, SIGINT or SIGTERM); 0 then."""
    memo = memo if memo is not None else kopf.Memo()
    memo.settings = settings
    if not await wait_until_served(stop_flag, served):
        return 0
    # kopf returns when the stop flag is set or on SIGINT/SIGTERM (it installs its own
    # handlers), and raises on a fatal error: a return is always a request to stop.
    await kopf.operator(
        registry=registry,
        memo=memo,
        clusterwide=not settings.namespaces,
        namespaces=list(settings.namespaces),
        standalone=peering is None,
        peering_name=peering,
        liveness_endpoint=liveness,
        stop_flag=stop_flag,
        ready_flag=ready_flag,
    )
    return 0
