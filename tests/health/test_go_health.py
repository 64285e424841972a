"""Argo CD's, kstatus' and Flux's own Go code read the statuses the operator renders.

Each folder here is a Go module of its own (their Kubernetes libraries do not agree on one
version): ``argocd`` imports argo-cd v3.2 (util/lua, util/settings, gitops-engine's health) and
``kstatus`` imports sigs.k8s.io/cli-utils, github.com/fluxcd/cli-utils and
github.com/fluxcd/pkg/runtime/cel. Both read the fixtures in deploy/argocd/health/testdata.

The first run downloads and compiles the modules (minutes). After that, Go's test cache answers
in about a second while nothing changed. That cache ignores files outside the Go module, so the
tests read an environment variable holding a digest of deploy/argocd and deploy/flux (go test
does key its cache on those): a changed fixture, script, snippet or Kustomization runs them
again. By hand: `cd tests/health/argocd && go test -count=1 ./...`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODULES = ("argocd", "kstatus")
INPUTS = (ROOT / "deploy" / "argocd", ROOT / "deploy" / "flux")


def inputs_digest() -> str:
    digest = hashlib.sha256()
    for top in INPUTS:
        for path in sorted(p for p in top.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _go() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    fallback = Path("/usr/local/go/bin/go")
    return str(fallback) if fallback.exists() else None


@pytest.mark.slow  # cold: minutes of compiling, started first so that it overlaps the waits
@pytest.mark.timeout(1800)  # a cold module and build cache; seconds once warm
@pytest.mark.parametrize("module", MODULES)
def test_go_module(module: str) -> None:
    go = _go()
    if go is None:
        pytest.skip("Go is not installed (needed to run Argo CD's and Flux's own code)")
    env = {
        **os.environ,
        # go.sum is committed: no module resolution, and no toolchain download.
        "GOFLAGS": "-mod=readonly",
        "GOTOOLCHAIN": "local",
        "DRS_HEALTH_INPUTS_DIGEST": inputs_digest(),
    }
    proc = subprocess.run(
        # -vet=off: vet needs facts about every package the tests import, so a cold run vetted
        # the whole Argo CD and Kubernetes tree (1,892 vet runs, 2 CPU-minutes) to lint a few
        # hundred lines of test code. The assertions are what these tests are for.
        [go, "test", "-vet=off", "./..."],
        cwd=HERE / module,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = (proc.stdout + proc.stderr).strip()
    assert proc.returncode == 0, f"go test in tests/health/{module} failed:\n{output[-6000:]}"
