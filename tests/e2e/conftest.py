"""Fixtures for tests against a real Kubernetes API server.

By default a local etcd + kube-apiserver (built from Go modules, cached) is started once per
session on 127.0.0.1 and stopped at the end, whatever happens. Setting DRS_E2E_KUBECONFIG runs
the same tests against an existing cluster instead; nothing is picked up implicitly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from drs_pause_operator.devcluster import LocalControlPlane, ensure_binaries
from drs_pause_operator.devcluster.existing import ExistingCluster

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
CRD_NAME = "drsjobpauses.drs.cloudops.dev"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane | ExistingCluster]:
    existing = os.environ.get("DRS_E2E_KUBECONFIG")
    if existing:
        kc: LocalControlPlane | ExistingCluster = ExistingCluster(Path(existing), ensure_binaries())
        _install_crd(kc)
        yield kc
        return
    with LocalControlPlane(workdir=tmp_path_factory.mktemp("controlplane")) as cp:
        _install_crd(cp)
        yield cp


def _install_crd(kc: LocalControlPlane | ExistingCluster) -> None:
    kc.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_DIR))
    kc.kubectl("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=60s")


@pytest.fixture
def namespace(cluster: LocalControlPlane | ExistingCluster) -> str:
    """A fresh namespace per test (without a controller-manager, deleted ones never vanish)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    return name
