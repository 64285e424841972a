"""Write kubeconfig files (JSON is valid kubeconfig YAML, so no YAML library is needed)."""

from __future__ import annotations

import json
from pathlib import Path


def write_kubeconfig(
    path: Path, *, server: str, ca: Path, user: dict[str, str], namespace: str = "default"
) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "local", "cluster": {"server": server, "certificate-authority": str(ca)}}
        ],
        "users": [{"name": "user", "user": user}],
        "contexts": [
            {
                "name": "local",
                "context": {"cluster": "local", "user": "user", "namespace": namespace},
            }
        ],
        "current-context": "local",
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)
    return path
