"""The local node's configuration documents: valid in their formats, and wired to what the
node passes (paths, addresses, this machine's quirks)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from drs_pause_operator.dev.devcluster import nodeconfig


def test_the_containerd_config_is_toml_and_names_the_nodes_paths() -> None:
    base = Path("/w/node/containerd")
    doc = tomllib.loads(nodeconfig.containerd_toml(
        base=base, socket=base / "containerd.sock", sandbox_image="registry.k8s.io/pause:x",
        runc="/usr/sbin/runc", cni_bin_dir="/usr/lib/cni", cni_conf_dir=Path("/w/node/cni")))
    assert doc["root"] == "/w/node/containerd/root"
    assert doc["grpc"]["address"] == "/w/node/containerd/containerd.sock"
    assert doc["ttrpc"]["address"] == "/w/node/containerd/containerd.sock.ttrpc"
    cri = doc["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "registry.k8s.io/pause:x"
    assert cri["restrict_oom_score_adj"] is True  # no CAP_SYS_RESOURCE here
    runc = cri["containerd"]["runtimes"]["runc"]["options"]
    assert runc == {"SystemdCgroup": False, "BinaryName": "/usr/sbin/runc",
                    "Root": "/w/node/containerd/runc"}
    assert cri["cni"] == {"bin_dir": "/usr/lib/cni", "conf_dir": "/w/node/cni"}


def test_the_cni_network_is_a_bridge_without_nat_on_the_pod_subnet() -> None:
    doc = json.loads(json.dumps(nodeconfig.cni_conflist("10.88.0.0/16", Path("/w/ipam"))))
    bridge, loopback = doc["plugins"]
    assert (bridge["type"], bridge["ipMasq"], loopback["type"]) == ("bridge", False, "loopback")
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.88.0.0/16"}]]
    assert bridge["ipam"]["dataDir"] == "/w/ipam"


def test_the_kubelet_config_runs_on_cgroup_v1_with_swap_in_its_own_cgroup() -> None:
    doc = nodeconfig.kubelet_config(
        cgroup_root="/drs-node-1", socket=Path("/w/c.sock"), pod_logs_dir=Path("/w/logs"),
        kubelet_dir=Path("/w/kubelet"), address="10.44.0.2", client_ca=Path("/w/ca.crt"),
        resolv=Path("/w/resolv.conf"))
    assert doc["kind"] == "KubeletConfiguration"
    assert (doc["failCgroupV1"], doc["cgroupDriver"], doc["failSwapOn"]) == (
        False, "cgroupfs", False)
    assert doc["cgroupRoot"] == "/drs-node-1"
    assert doc["containerRuntimeEndpoint"] == "unix:///w/c.sock"
    assert doc["volumePluginDir"] == "/w/kubelet/volume-plugins"
    assert doc["authentication"]["anonymous"] == {"enabled": False}
    assert doc["authentication"]["x509"] == {"clientCAFile": "/w/ca.crt"}
    assert (doc["address"], doc["resolvConf"]) == ("10.44.0.2", "/w/resolv.conf")
