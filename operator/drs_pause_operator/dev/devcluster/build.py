"""Build the local control plane's binaries from Go modules, cached outside the repository.

kube-apiserver, kubectl and etcd come from the small Go module in ``gomod/kube`` (it pins every
Kubernetes staging module, which ``go install k8s.io/kubernetes/...@v`` cannot do); helm comes
from ``go install`` of its own module. Binaries are cached under a directory keyed by the
versions and by a hash of the module files, so a version bump rebuilds and nothing else does.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

KUBERNETES_VERSION = "v1.37.2"
HELM_VERSION = "v3.22.0"
GOMOD_DIR = Path(__file__).parent / "gomod" / "kube"


class DevClusterError(RuntimeError):
    """The local control plane could not be built or started; the message says what is missing."""


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    kubectl: Path
    etcd: Path
    helm: Path


def cache_root() -> Path:
    base = os.environ.get("DRS_PAUSE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "drs-pause-operator"
    )
    return Path(base)


def _module_hash() -> str:
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "etcd/main.go"):
        digest.update((GOMOD_DIR / name).read_bytes())
    return digest.hexdigest()[:12]


def binaries_dir() -> Path:
    return cache_root() / "controlplane" / f"k8s-{KUBERNETES_VERSION}-{_module_hash()}"


def _version_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    pkg = "k8s.io/component-base/version"
    # Without these stamps /version says v0.0.0 and Helm's kubeVersion checks fail.
    return " ".join(
        [
            "-s -w",
            f"-X {pkg}.gitVersion={KUBERNETES_VERSION}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    )


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise DevClusterError(
            "Go is not installed (no `go` on PATH): it is needed once to build kube-apiserver, "
            "kubectl, etcd and helm for the local control plane. Install Go >= 1.24, or point "
            "DRS_E2E_KUBECONFIG at an existing cluster."
        )
    return go


def _run_go(args: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    full_env = {**os.environ, "CGO_ENABLED": "0", **(env or {})}
    proc = subprocess.run(
        [_go(), *args], cwd=cwd, env=full_env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        hint = ""
        if any(s in tail for s in ("dial tcp", "proxy.golang.org", "no such host", "i/o timeout")):
            hint = " The Go module download failed: is the Go module proxy (GOPROXY) reachable?"
        raise DevClusterError(f"building {what} failed (go {' '.join(args[:2])}).{hint}\n{tail}")


@contextmanager
def _build_lock(directory: Path) -> Iterator[None]:
    """Serialise builds across processes (pytest workers, a demo next to a test run)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_into(target: Path, build: list[str], cwd: Path, what: str, env=None) -> None:
    if target.exists():
        return
    tmp = target.with_suffix(".tmp")
    _run_go([*build[:1], "-trimpath", "-o", str(tmp), *build[1:]], cwd, what, env)
    tmp.replace(target)  # atomic: a killed build never leaves a half-written binary behind


def ensure_binaries(log=print) -> Binaries:
    """Return the cached binaries, building the missing ones first (minutes when cold)."""
    out = binaries_dir()
    bins = Binaries(
        kube_apiserver=out / "kube-apiserver",
        kubectl=out / "kubectl",
        etcd=out / "etcd",
        helm=out / f"helm-{HELM_VERSION}",
    )
    if all(p.exists() for p in vars(bins).values()):
        return bins
    with _build_lock(out):
        ld = _version_ldflags()
        for target, pkg in (
            (bins.kube_apiserver, "k8s.io/kubernetes/cmd/kube-apiserver"),
            (bins.kubectl, "k8s.io/kubernetes/cmd/kubectl"),
        ):
            if not target.exists():
                log(f"building {target.name} {KUBERNETES_VERSION} (cold: several minutes)")
            _build_into(target, ["build", "-ldflags", ld, pkg], GOMOD_DIR, target.name)
        if not bins.etcd.exists():
            log("building etcd")
        _build_into(bins.etcd, ["build", "-ldflags", "-s -w", "./etcd"], GOMOD_DIR, "etcd")
        if not bins.helm.exists():
            log(f"building helm {HELM_VERSION}")
            gobin = out / "gobin"
            _run_go(
                [
                    "install",
                    "-trimpath",
                    "-ldflags",
                    "-s -w",
                    f"helm.sh/helm/v3/cmd/helm@{HELM_VERSION}",
                ],
                out,
                "helm",
                env={"GOBIN": str(gobin), "GOFLAGS": "-mod=mod"},
            )
            (gobin / "helm").replace(bins.helm)
    return bins
