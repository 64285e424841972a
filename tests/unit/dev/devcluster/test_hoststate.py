"""Host bookkeeping of local nodes, on a fake host (HOST_STATE and HOST_LEFTOVERS in a temporary
folder): the last node to leave removes what the nodes created and nothing that was there."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drs_pause_operator.dev.devcluster import hoststate


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(hoststate, "HOST_STATE", tmp_path / "state")
    monkeypatch.setattr(hoststate, "HOST_LEFTOVERS",
                        (str(tmp_path / "kubelet"), str(tmp_path / "cni")))
    monkeypatch.setattr(hoststate, "CGROUP_ROOT", tmp_path / "no-cgroups")
    return tmp_path


def _record(host: Path) -> dict[str, object]:
    return {"pid": os.getpid(), "node_dir": str(host / "node"),
            "socket": str(host / "node" / "c.sock"), "cgroup": "drs-node-x"}


def test_the_last_node_removes_what_did_not_exist_before_the_first(host: Path) -> None:
    (host / "cni").mkdir()  # there before any node
    lock = hoststate.enter("a", _record(host))
    (host / "kubelet" / "plugins").mkdir(parents=True)  # created by the node
    (host / "cni" / "cache").mkdir()
    hoststate.leave("a", lock)
    assert not (host / "kubelet").exists()
    assert (host / "cni" / "cache").is_dir()  # the folder was there: left alone
    assert not (host / "state").exists()  # no bookkeeping left either


def test_a_node_whose_owner_died_is_cleaned_up_by_the_next_one(host: Path) -> None:
    nodes = host / "state" / "nodes"
    nodes.mkdir(parents=True)
    stale = {**_record(host), "pid": 2**22 + 1}  # above any pid_max: no such process
    (nodes / "dead.json").write_text(json.dumps(stale))
    lock = hoststate.enter("a", _record(host))
    assert sorted(p.name for p in nodes.iterdir()) == ["a.json"]
    hoststate.leave("a", lock)


def test_only_the_nodes_own_pod_log_links_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    containers = tmp_path / "var-log-containers"
    containers.mkdir()
    mine, other = tmp_path / "mine" / "pod.log", tmp_path / "other" / "pod.log"
    (containers / "mine.log").symlink_to(mine)
    (containers / "other.log").symlink_to(other)
    real_path = Path
    monkeypatch.setattr(hoststate, "Path", lambda p: containers if p == "/var/log/containers"
                        else real_path(p))
    hoststate.remove_pod_log_links(tmp_path / "mine")
    assert [p.name for p in containers.iterdir()] == ["other.log"]
