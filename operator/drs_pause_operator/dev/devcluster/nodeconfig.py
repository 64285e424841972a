"""The configuration documents of a local node: the CNI network, containerd and the kubelet.

Pure functions of paths and addresses (:mod:`.node` writes them and starts the processes). This
machine's quirks live here: cgroup v1 (``failCgroupV1: false``, ``cgroupDriver: cgroupfs``),
swap (``failSwapOn: false``) and no CAP_SYS_RESOURCE (containerd's ``restrict_oom_score_adj``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cni_conflist(pod_subnet: str, ipam_dir: Path) -> dict[str, Any]:
    """A bridge with host-local addresses from POD_SUBNET, and loopback."""
    return {
        "cniVersion": "1.0.0",
        "name": "drs-node",
        "plugins": [
            {
                "type": "bridge",
                "bridge": "cni0",
                "isGateway": True,
                "ipMasq": False,  # no NAT: pods talk to the node's namespace only
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_subnet}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(ipam_dir),
                },
            },
            {"type": "loopback"},
        ],
    }


def containerd_toml(*, base: Path, socket: Path, sandbox_image: str, runc: str,
                    cni_bin_dir: str, cni_conf_dir: Path) -> str:
    """containerd's config.toml: its state under BASE, the CRI plugin with runc and CNI."""
    return f"""\
version = 2
root = "{base / 'root'}"
state = "{base / 'state'}"

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{base / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  # A negative oom_score_adj needs CAP_SYS_RESOURCE, which this sandbox lacks: without this every
  # pod sandbox fails with "can't get final child's PID from pipe: EOF".
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{runc}"
        Root = "{base / 'runc'}"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin_dir}"
    conf_dir = "{cni_conf_dir}"
"""


def kubelet_config(*, cgroup_root: str, socket: Path, pod_logs_dir: Path, kubelet_dir: Path,
                   address: str, client_ca: Path, resolv: Path) -> dict[str, Any]:
    """The KubeletConfiguration (written as JSON, which is YAML)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # This machine: cgroup v1 (refused from 1.35 unless told), no systemd, swap on.
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": cgroup_root,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{socket}",
        "podLogsDir": str(pod_logs_dir),
        "volumePluginDir": str(kubelet_dir / "volume-plugins"),
        "address": address,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(client_ca)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "resolvConf": str(resolv),
        "clusterDomain": "cluster.local",
        "maxPods": 30,
        # Shared CI disks run full; imported images cannot be pulled again.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {
            "memory.available": "50Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
            "imagefs.inodesFree": "1%",
        },
        "nodeStatusReportFrequency": "10s",
        "nodeStatusUpdateFrequency": "5s",
    }
