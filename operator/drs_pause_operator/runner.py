"""Run the kopf operator with our registry, settings and memo."""

from __future__ import annotations

import kopf

from .handlers import registry
from .settings import Settings


async def run_operator(
    settings: Settings,
    *,
    liveness: str | None = None,
    peering: str | None = None,
    memo: kopf.Memo | None = None,
    stop_flag: object | None = None,
    ready_flag: object | None = None,
) -> None:
    memo = memo if memo is not None else kopf.Memo()
    memo.settings = settings
    await kopf.operator(
        registry=registry,
        memo=memo,
        clusterwide=not settings.namespaces,
        namespaces=list(settings.namespaces),
        standalone=peering is None,
        peering_name=peering,
        liveness_endpoint=liveness,
        stop_flag=stop_flag,  # type: ignore[arg-type]
        ready_flag=ready_flag,  # type: ignore[arg-type]
    )
