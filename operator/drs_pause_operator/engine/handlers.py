"""kopf handlers: each one only forwards. The logic lives in controller.py and the passes."""

from __future__ import annotations

from typing import Any

import kopf

from drs_pause_operator.engine import watchcheck
from drs_pause_operator.engine.startup import configure_kopf, shutdown, startup
from drs_pause_operator.resource.spec import GROUP, PLURAL, VERSION
from drs_pause_operator.resource.window import WINDOW_PLURAL

registry = kopf.OperatorRegistry()


@kopf.on.startup(registry=registry)
async def on_startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    watchcheck.DETECTOR.reset()
    configure_kopf(settings)
    await startup(memo)


# The liveness endpoint fails once kopf can no longer watch drsjobpauses (engine/watchcheck.py).
@kopf.on.probe(registry=registry, id="watching")
def on_probe(**_: Any) -> dict[str, str]:
    return watchcheck.probe()


@kopf.on.login(registry=registry)
def on_login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    # In-cluster ServiceAccount or KUBECONFIG, read the same way as the kubernetes client does.
    return kopf.login_via_client(**kwargs)


@kopf.on.cleanup(registry=registry)
async def on_cleanup(memo: kopf.Memo, **_: Any) -> None:
    await shutdown(memo)


# An event handler keeps kopf stateless on our objects: no finalizers, no progress or diff-base
# annotations, nothing for GitOps tools to see as drift. All state lives in .status.
# async on purpose: kopf runs plain functions in a thread pool, and observe() feeds the
# controller's asyncio work queue, which only the event loop's own thread may touch.
@kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
async def on_event(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.controller.observe(type, dict(body))
    memo.children.observe(type, body)


@kopf.on.event(GROUP, VERSION, WINDOW_PLURAL, registry=registry)
async def on_window_event(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.windows.observe(type, dict(body))
