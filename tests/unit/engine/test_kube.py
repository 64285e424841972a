"""Every Kubernetes call of the operator's own clients has a timeout: the client's default is to
wait for ever, and a request that never gets an answer would hold its pass for good."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
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


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def test_the_client_leaves_core_v1_api_unloaded(tmp_path: Path) -> None:
    """The generated CoreV1Api took 1.2 CPU-seconds to import, 40% of the operator's start; the
    two core calls go through engine/kube_core.py instead."""
    (tmp_path / "config").write_text(KUBECONFIG)
    code = ("import sys\n"
            "from drs_pause_operator.app.metrics import Metrics\n"
            "from drs_pause_operator.engine import runner\n"
            "from drs_pause_operator.engine.kube import KubeApi\n"
            "KubeApi(Metrics()).close()\n"
            "print(sorted(m for m in sys.modules if m.startswith('kubernetes.client.api.')))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={**os.environ, "KUBECONFIG": str(tmp_path / "config")}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.strip()
    assert "core_v1_api" not in loaded and "custom_objects_api" in loaded, loaded
