"""The tools the release path relies on, as built here.

- helm carries the stamps its own Makefile sets for a release (version, tree state, the
  Kubernetes version of its client-go, and the commit when the module proxy names one), so a
  plain ``helm template`` (as kustomize's Helm inflator runs it) assumes a current Kubernetes
  and the chart's ``kubeVersion`` admits it;
- actionlint, built from its module, accepts the workflows (``make test`` runs it as well).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from drs_pause_operator.dev.devcluster.build import (
    HELM_VERSION,
    ensure_actionlint,
    ensure_binaries,
)

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_helm_is_stamped_like_a_release_build():
    helm = str(ensure_binaries(log=lambda *_: None).helm)
    out = _run(helm, "version").stdout
    assert f'Version:"{HELM_VERSION}"' in out
    # The commit is the module proxy's Origin.Hash when it gives one, else empty: never invented.
    assert re.search(r'GitCommit:"([0-9a-f]{40})?"', out), out
    assert 'GitTreeState:"clean"' in out
    # Without --kube-version helm assumes its client-go's Kubernetes (v1.20 when unstamped,
    # which the chart's kubeVersion >=1.28.0-0 rejects).
    proc = _run(helm, "template", "r", str(ROOT / "charts" / "drs-pause-operator"))
    assert proc.returncode == 0, proc.stderr
    assert "kind: Deployment" in proc.stdout


def test_actionlint_accepts_the_workflows():
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yaml"))
    assert {Path(w).name for w in workflows} >= {"ci.yaml", "release.yaml"}
    proc = _run(str(ensure_actionlint(log=lambda *_: None)), "-no-color", *workflows)
    assert proc.returncode == 0, proc.stdout + proc.stderr
