"""The runner's discovery check against a real API server, in a process of its own (the
kubernetes client reads KUBECONFIG when it is first imported, as the operator's process does)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHECK = "import sys; from drs_pause_operator.engine import runner; " \
        "sys.exit(0 if runner.resource_served() else 3)"


def _served(kubeconfig: Path) -> int:
    env = {k: v for k, v in os.environ.items() if k != "KUBERNETES_SERVICE_HOST"}
    env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run([sys.executable, "-c", CHECK], env=env, timeout=60,
                          check=False).returncode


def test_the_installed_crds_are_seen_as_served(cluster) -> None:
    assert _served(Path(cluster.kubeconfig)) == 0


def test_an_unreachable_api_server_is_not_served(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    assert _served(config) == 3
