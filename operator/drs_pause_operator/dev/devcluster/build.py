"""Build the local cluster's binaries from Go modules, cached outside the repository.

kube-apiserver, kubectl and etcd (and, for a node, kubelet, kube-controller-manager,
kube-scheduler and a static ``pause``) come from the small Go module in ``gomod/kube`` (it pins
every Kubernetes staging module, which ``go install k8s.io/kubernetes/...@v`` cannot do); helm,
actionlint and promtool come from ``go install`` of their own modules, with the ldflags their
release builds set. Binaries are cached under a directory keyed by the versions and by a hash of
the module files, so a version bump rebuilds and nothing else does.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KUBERNETES_VERSION = "v1.37.2"
HELM_VERSION = "v3.22.0"
ACTIONLINT_VERSION = "v1.7.12"
# Prometheus 3.x is published as Go module versions v0.3MM.P for release 3.MM.P.
PROMTOOL_VERSION = "v0.316.0"
GOMOD_DIR = Path(__file__).parent / "gomod" / "kube"


class DevClusterError(RuntimeError):
    """The local control plane could not be built or started; the message says what is missing."""


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    kubectl: Path
    etcd: Path
    helm: Path


@dataclass(frozen=True)
class NodeBinaries:
    """What a node adds to the control plane (same module, same version)."""

    kubelet: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    pause: Path


def cache_root() -> Path:
    base = os.environ.get("DRS_PAUSE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "drs-pause-operator"
    )
    return Path(base)


def _module_hash() -> str:
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum", "etcd/main.go", "pause/main.go"):
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


def _module_info(module: str, version: str, cwd: Path) -> dict[str, Any]:
    """``go mod download -json`` of MODULE@VERSION: its commit (Origin.Hash) and go.mod path."""
    go = _go()
    proc = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        cwd=cwd, env=go_env({"GOFLAGS": "-mod=mod"}),
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise DevClusterError(f"go mod download {module}@{version} failed:\n{proc.stdout}"
                              f"{proc.stderr}")
    info: dict[str, Any] = json.loads(proc.stdout)
    return info


def _helm_ldflags(cwd: Path) -> str:
    """The ldflags of helm's own Makefile for a tagged release build."""
    return helm_ldflags(_module_info("helm.sh/helm/v3", HELM_VERSION, cwd))


def helm_ldflags(info: dict[str, Any]) -> str:
    """helm's release ldflags from a ``go mod download -json`` answer for its module.

    What matters is stamped always: the version, empty metadata (a tag), and the Kubernetes
    version of the client-go it is built with (major = 1 + client-go's major), which is what
    ``helm template`` and ``helm lint`` assume without ``--kube-version`` (unstamped: v1.20.0),
    read from helm's go.mod. The commit comes from the answer's ``Origin``; a module proxy that
    leaves ``Origin`` out (many mirrors do) gives no commit, and then none is stamped rather than
    one invented: ``helm version`` then shows an empty GitCommit.
    """
    commit = (info.get("Origin") or {}).get("Hash", "")
    client_go = ""
    go_mod = info.get("GoMod")
    if go_mod:
        for line in Path(go_mod).read_text().splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "k8s.io/client-go":
                client_go = parts[1]
    if not client_go:
        raise DevClusterError(
            f"helm {HELM_VERSION}: no k8s.io/client-go requirement in its go.mod "
            f"({go_mod or 'the module answer names no go.mod'})"
        )
    major, minor = client_go.lstrip("v").split(".")[:2]
    k8s_major = str(int(major) + 1)
    version = "helm.sh/helm/v3/internal/version"
    flags = [
        "-s -w",
        f"-X {version}.version={HELM_VERSION}",
        f"-X {version}.metadata=",
        f"-X {version}.gitTreeState=clean",
    ]
    if commit:
        flags.append(f"-X {version}.gitCommit={commit}")
    for pkg in ("helm.sh/helm/v3/pkg/lint/rules", "helm.sh/helm/v3/pkg/chartutil"):
        flags += [f"-X {pkg}.k8sVersionMajor={k8s_major}", f"-X {pkg}.k8sVersionMinor={minor}"]
    return " ".join(flags)


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise DevClusterError(
            "Go is not installed (no `go` on PATH): it is needed once to build kube-apiserver, "
            "kubectl, etcd and helm for the local control plane. Install Go >= 1.26, or point "
            "DRS_E2E_KUBECONFIG at an existing cluster."
        )
    return go


def go_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every ``go`` command here, independent of the user's Go settings.

    ``GOTOOLCHAIN=local``: build with the Go that is installed; never download another toolchain
    because a module asks for a newer one. ``-buildvcs=false``: the modules are built inside this
    repository's checkout, and a VCS stamp would make ``go`` run git there (which fails under
    sudo on a checkout owned by someone else). Both are usually set in a developer's
    ``~/.config/go/env``; a fresh machine or an empty HOME has neither.
    """
    extra = dict(extra or {})
    flags = " ".join(f for f in ("-buildvcs=false", extra.pop("GOFLAGS", "")) if f)
    return {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": flags, **extra}


def _run_go(args: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(
        [_go(), *args],
        cwd=cwd,
        env=go_env({"CGO_ENABLED": "0", **(env or {})}),
        capture_output=True,
        text=True,
        check=False,
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


def _build_into(
    target: Path, build: list[str], cwd: Path, what: str, env: dict[str, str] | None = None
) -> None:
    if target.exists():
        return
    tmp = target.with_suffix(".tmp")
    _run_go([*build[:1], "-trimpath", "-o", str(tmp), *build[1:]], cwd, what, env)
    tmp.replace(target)  # atomic: a killed build never leaves a half-written binary behind


def ensure_binaries(log: Callable[[str], object] = print) -> Binaries:
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
            _go_install(out, f"helm.sh/helm/v3/cmd/helm@{HELM_VERSION}", _helm_ldflags(out),
                        bins.helm)
    return bins


def _go_install(out: Path, package: str, ldflags: str, target: Path, tags: str = "") -> None:
    gobin = out / "gobin"
    name = package.split("@", maxsplit=1)[0].rsplit("/", 1)[-1]
    _run_go(
        ["install", "-trimpath", *(["-tags", tags] if tags else []), "-ldflags", ldflags,
         package],
        out,
        name,
        env={"GOBIN": str(gobin), "GOFLAGS": "-mod=mod"},
    )
    (gobin / name).replace(target)


def ensure_node_binaries(log: Callable[[str], object] = print) -> NodeBinaries:
    """kubelet, kube-controller-manager, kube-scheduler and pause, built like kube-apiserver.

    Cold: about 4 minutes for the kubelet and 2-3 for each of the others on 2 cores once the
    control plane's module and build caches are warm (they share most packages).
    """
    out = binaries_dir()
    bins = NodeBinaries(
        kubelet=out / "kubelet",
        kube_controller_manager=out / "kube-controller-manager",
        kube_scheduler=out / "kube-scheduler",
        pause=out / "pause",
    )
    if all(p.exists() for p in vars(bins).values()):
        return bins
    with _build_lock(out):
        ld = _version_ldflags()
        for target, pkg in (
            (bins.kube_controller_manager, "k8s.io/kubernetes/cmd/kube-controller-manager"),
            (bins.kube_scheduler, "k8s.io/kubernetes/cmd/kube-scheduler"),
            (bins.kubelet, "k8s.io/kubernetes/cmd/kubelet"),
        ):
            if not target.exists():
                log(f"building {target.name} {KUBERNETES_VERSION} (cold: minutes)")
            _build_into(target, ["build", "-ldflags", ld, pkg], GOMOD_DIR, target.name)
        _build_into(bins.pause, ["build", "-ldflags", "-s -w", "./pause"], GOMOD_DIR, "pause")
    return bins


def _ensure_tool(name: str, version: str, package: str, ldflags: str,
                 log: Callable[[str], object], note: str = "", tags: str = "") -> Path:
    """``go install PACKAGE@VERSION`` into the tools cache as ``NAME-VERSION``, once (with build
    tags, as ``NAME-VERSION-TAGS``)."""
    out = cache_root() / "tools"
    target = out / "-".join(part for part in (name, version, tags.replace(",", "+")) if part)
    if target.exists():
        return target
    with _build_lock(out):
        if not target.exists():
            log(f"building {name} {version}{note}")
            _go_install(out, f"{package}@{version}", ldflags, target, tags)
    return target


def ensure_actionlint(log: Callable[[str], object] = print) -> Path:
    """actionlint (GitHub Actions workflow checker) from its own Go module, cached by version."""
    return _ensure_tool(
        "actionlint", ACTIONLINT_VERSION, "github.com/rhysd/actionlint/cmd/actionlint",
        f"-s -w -X github.com/rhysd/actionlint.version={ACTIONLINT_VERSION}", log)


def prometheus_release(module_version: str) -> str:
    """The Prometheus release of a module version: v0.316.0 is 3.16.0, v0.300.2 is 3.0.2."""
    parts = module_version.lstrip("v").split(".")
    if len(parts) != 3 or parts[0] != "0" or not all(p.isdigit() for p in parts):
        raise DevClusterError(f"not a Prometheus 3.x module version: {module_version!r}")
    combined = int(parts[1])
    return f"{combined // 100}.{combined % 100}.{parts[2]}"


#: Prometheus's own build tag that leaves out the optional service discoveries (their cloud SDKs:
#: AWS EC2, Google's compute API, OpenStack, Docker, Scaleway, OCI, ...; 247 of promtool's 1364
#: packages). The chart's checks use `promtool check rules` and `test rules` only.
PROMTOOL_TAGS = "remove_all_sd"


def ensure_promtool(log: Callable[[str], object] = print) -> Path:
    """promtool (checks and unit tests of alerting rules) from the Prometheus module, cached by
    version, stamped like Prometheus's release builds (``promtool --version``)."""
    version = "github.com/prometheus/common/version"
    ldflags = (f"-s -w -X {version}.Version={prometheus_release(PROMTOOL_VERSION)} "
               f"-X {version}.Branch=HEAD")
    return _ensure_tool("promtool", PROMTOOL_VERSION,
                        "github.com/prometheus/prometheus/cmd/promtool", ldflags, log,
                        note=" (cold: minutes)", tags=PROMTOOL_TAGS)
