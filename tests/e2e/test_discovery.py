"""The runner's discovery check against a real API server."""

from __future__ import annotations

import os

import pytest

from drs_pause_operator.engine import runner


def test_the_installed_crd_is_seen_as_served(cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(cluster.kubeconfig))
    assert runner.resource_served() is True


def test_an_unreachable_api_server_is_not_served(tmp_path, monkeypatch) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
    )
    monkeypatch.setenv("KUBECONFIG", str(config))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert os.environ["KUBECONFIG"] == str(config)
    assert runner.resource_served() is False
