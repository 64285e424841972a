"""An existing cluster, used instead of the local control plane only on explicit opt-in
(``DRS_E2E_KUBECONFIG``): tests never pick up the ambient kubeconfig by accident."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .build import Binaries, DevClusterError


class ExistingCluster:
    def __init__(self, kubeconfig: Path, binaries: Binaries) -> None:
        if not kubeconfig.is_file():
            raise DevClusterError(f"DRS_E2E_KUBECONFIG={kubeconfig} is not a file")
        self.kubeconfig = kubeconfig
        self.binaries = binaries

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.binaries.kubectl), f"--kubeconfig={kubeconfig or self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and proc.returncode != 0:
            raise DevClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc
