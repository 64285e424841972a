"""Every Kubernetes call of the operator's own clients has a timeout: the client's default is to
wait for ever, and a request that never gets an answer would hold its pass for good."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from drs_pause_operator.engine.kube import REQUEST_TIMEOUT, KubeApi


async def test_calls_carry_a_timeout_unless_given_one() -> None:
    client = KubeApi.__new__(KubeApi)  # no kubeconfig needed: only the call path is under test
    client._pool = ThreadPoolExecutor(1)
    seen: list[dict[str, Any]] = []

    def call(*args: Any, **kwargs: Any) -> str:
        seen.append(kwargs)
        return "answer"

    try:
        assert await client._run(call, "ns", name="x") == "answer"
        await client._run(call, _request_timeout=3)
    finally:
        client._pool.shutdown()
    assert seen == [{"name": "x", "_request_timeout": REQUEST_TIMEOUT}, {"_request_timeout": 3}]
    connect, read = REQUEST_TIMEOUT
    assert 0 < connect <= read <= 60
