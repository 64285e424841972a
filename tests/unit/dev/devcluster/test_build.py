"""The Go builds of the local cluster's tools: the flags they get, whatever the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from drs_pause_operator.dev.devcluster.build import (
    HELM_VERSION,
    DevClusterError,
    go_env,
    helm_ldflags,
)

HELM_GO_MOD = """module helm.sh/helm/v3

go 1.24.0

require (
\tgithub.com/BurntSushi/toml v1.5.0
\tk8s.io/api v0.34.1
\tk8s.io/client-go v0.34.1
)
"""


def _answer(tmp_path: Path, **extra: object) -> dict:
    go_mod = tmp_path / "helm.mod"
    go_mod.write_text(HELM_GO_MOD)
    # What `go mod download -json` prints; a proxy that serves only Version and Time in its .info
    # file leaves Origin out.
    return {"Path": "helm.sh/helm/v3", "Version": HELM_VERSION, "GoMod": str(go_mod), **extra}


def test_a_module_answer_without_origin_builds_without_a_commit(tmp_path: Path) -> None:
    flags = helm_ldflags(_answer(tmp_path))
    assert f"-X helm.sh/helm/v3/internal/version.version={HELM_VERSION}" in flags
    assert "gitCommit" not in flags  # never invented
    # What matters for `helm template`: the Kubernetes version of its client-go (1 + 0 . 34).
    assert "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1" in flags
    assert "-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=34" in flags
    assert "-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=34" in flags


def test_the_commit_comes_from_origin_when_the_proxy_gives_it(tmp_path: Path) -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    flags = helm_ldflags(_answer(tmp_path, Origin={"VCS": "git", "Hash": commit}))
    assert f"-X helm.sh/helm/v3/internal/version.gitCommit={commit}" in flags


def test_a_go_mod_without_client_go_is_a_clear_error(tmp_path: Path) -> None:
    answer = _answer(tmp_path)
    Path(answer["GoMod"]).write_text("module helm.sh/helm/v3\n")
    with pytest.raises(DevClusterError, match=r"no k8s\.io/client-go requirement"):
        helm_ldflags(answer)


def test_go_runs_with_the_installed_toolchain_and_no_vcs_stamp(monkeypatch) -> None:
    # A fresh HOME has no ~/.config/go/env: these must not depend on it.
    monkeypatch.setenv("GOTOOLCHAIN", "auto")
    monkeypatch.setenv("GOFLAGS", "")
    env = go_env({"GOFLAGS": "-mod=mod", "GOBIN": "/x"})
    assert env["GOTOOLCHAIN"] == "local"
    assert env["GOFLAGS"].split() == ["-buildvcs=false", "-mod=mod"]
    assert env["GOBIN"] == "/x"
    assert go_env()["GOFLAGS"] == "-buildvcs=false"
