"""A one-node Kubernetes cluster from source, like Kubernetes' ``hack/local-up-cluster.sh``.

:class:`LocalCluster` is :class:`LocalControlPlane` (etcd + kube-apiserver on 127.0.0.1) plus
kube-controller-manager and kube-scheduler (host processes, admin credentials), and a node:
Debian's containerd + runc + CNI plugins and a kubelet built from the same ``k8s.io/kubernetes``
module. Pods run images imported into containerd (no registry: ``imagePullPolicy: Never``).

Network. containerd, the kubelet and the pods' bridge live in a network namespace the harness
creates (``unshare --net=FILE``, a file in the harness's folder, not ``/run/netns``); nothing is
added to the host's own namespace. Inside it, ``lo`` holds
the node's address (``NODE_IP``) and the ``kubernetes`` Service's address (``SERVICE_IP``); a
forwarder (:mod:`.netns`) bound there dials the API server on the host's loopback, so the
kubelet and pods using in-cluster configuration reach it without kube-proxy. Pods get addresses
from ``POD_SUBNET`` on a bridge in that namespace (CNI bridge + host-local + loopback). A host
loopback port is offered to pods with :meth:`LocalCluster.expose` (e.g. the DRS simulator), and
the test reaches a pod's address with :meth:`LocalCluster.node_http_get` (a thread that enters
the namespace). There is no kube-proxy: a Service is reached through the addresses its
EndpointSlices list (:meth:`LocalCluster.service_endpoints`). The API server cannot reach the
kubelet, so ``kubectl logs``/``exec`` do not work; :meth:`LocalCluster.pod_log` reads the log
files instead.

This machine's quirks (see the kubelet and containerd configuration below): cgroup v1
(``failCgroupV1: false``, ``cgroupDriver: cgroupfs``), swap (``failSwapOn: false``) and no
CAP_SYS_RESOURCE (containerd's ``restrict_oom_score_adj``). Everything the node creates lives
under the harness's folder, a cgroup of its own (``cgroupRoot``) and its network namespace; stop
removes the pods' containers, mounts, cgroups and the namespace.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from .build import Binaries, DevClusterError, NodeBinaries, ensure_node_binaries
from .cluster import LocalControlPlane, _terminate, free_port
from .image import ImageArchive, ensure_pause_image
from .kubeconfig import write_kubeconfig
from .netns import in_netns

SERVICE_IP = "10.0.0.1"  # first address of --service-cluster-ip-range: the kubernetes Service
NODE_IP = "10.44.0.2"
POD_SUBNET = "10.88.0.0/16"
NODE_NAME = "drs-node"
CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
NODE_READY_TIMEOUT = 180.0
CGROUP_ROOT = Path("/sys/fs/cgroup")
# Host paths the kubelet and containerd use whatever they are told (device-plugins socket,
# /var/log/containers links, libcni's cache, the shims' sockets, the pods' network namespaces).
# What they create there is removed when the last node of this machine stops, if the path did
# not exist before the first one started (recorded under HOST_STATE; nodes hold a shared lock).
HOST_LEFTOVERS = ("/var/lib/kubelet", "/var/log/containers", "/var/lib/cni", "/run/containerd")
HOST_STATE = Path("/run/drs-pause-operator-node")


class LocalCluster(LocalControlPlane):
    """Control plane + controller-manager + scheduler + one node; a context manager."""

    def __init__(
        self,
        workdir: Path | None = None,
        binaries: Binaries | None = None,
        log: Callable[[str], object] = print,
        *,
        images: Sequence[ImageArchive] = (),
        node_binaries: NodeBinaries | None = None,
    ) -> None:
        super().__init__(
            workdir,
            binaries,
            log,
            server_names=(
                SERVICE_IP,
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            disable_admission_plugins=(),
        )
        self.images = list(images)
        self.node_binaries = node_binaries
        self.id = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.netns_path = str(self.workdir / "node" / "netns")
        self.cgroup_name = f"drs-node-{self.id}"
        self.node_dir = self.workdir / "node"
        self.socket = self.node_dir / "containerd" / "containerd.sock"
        self.pod_logs_dir = self.node_dir / "pod-logs"
        self.kubelet_dir = self.node_dir / "kubelet"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._netns_created = False
        self._host_lock: IO[str] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        tools = _check_host()
        self.node_binaries = self.node_binaries or ensure_node_binaries(log=self.log)
        self.pause_image = ensure_pause_image(self.node_binaries.pause, log=self.log)
        self.node_dir.mkdir(parents=True, exist_ok=True)
        self._enter_host()
        super().start()
        self._create_netns(tools)
        self._spawn_forwarder("apiserver", f"{SERVICE_IP}:443", f"127.0.0.1:{self.port}")
        self._start_containerd(tools)
        for image in (self.pause_image, *self.images):
            self.import_image(image)
        self._start_controller_manager()
        self._start_scheduler()
        self._start_kubelet()
        self._wait_node_ready()

    def stop(self) -> None:
        try:
            self._stop_node()
        finally:
            super().stop()

    # -- the network namespace -------------------------------------------------------------

    def _create_netns(self, tools: dict[str, str]) -> None:
        # A persistent namespace: unshare bind-mounts it on a file of ours (removed at stop).
        Path(self.netns_path).touch()
        _run([tools["unshare"], f"--net={self.netns_path}", "true"], "unshare --net")
        self._netns_created = True
        ip = self._nsenter([tools["ip"]])
        _run([*ip, "link", "set", "lo", "up"], "ip link set lo up")
        for address in (SERVICE_IP, NODE_IP):
            _run([*ip, "addr", "add", f"{address}/32", "dev", "lo"], "ip addr add")

    def _nsenter(self, args: list[str]) -> list[str]:
        # Only the network namespace: the mount namespace stays shared, so the kubelet's volume
        # mounts are seen by runc (`ip netns exec` would give each its own mount namespace).
        return [shutil.which("nsenter") or "nsenter", f"--net={self.netns_path}", "--", *args]

    def _spawn_forwarder(self, name: str, listen: str, target: str) -> None:
        proc = self._spawn(
            f"forward-{name}",
            [sys.executable, "-m", "drs_pause_operator.dev.devcluster.netns",
             "--netns", self.netns_path, f"{listen}={target}"],
        )
        self.procs[f"forward-{name}"] = proc
        deadline = time.monotonic() + 20
        while "forwarding" not in self.log_tail(f"forward-{name}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise DevClusterError(
                    f"forwarder {listen} -> {target} did not start:\n"
                    + self.log_tail(f"forward-{name}")
                )
            time.sleep(0.1)

    def expose(self, host_port: int) -> str:
        """Make 127.0.0.1:HOST_PORT on the host reachable from pods; returns ``NODE_IP:PORT``."""
        self._spawn_forwarder(f"port-{host_port}", f"{NODE_IP}:{host_port}",
                              f"127.0.0.1:{host_port}")
        return f"{NODE_IP}:{host_port}"

    def node_http_get(self, url: str, timeout: float = 5.0) -> tuple[int, str]:
        """GET URL from inside the node's network namespace (e.g. a pod's address)."""

        def get() -> tuple[int, str]:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status, response.read().decode()

        return in_netns(self.netns_path, get)

    # -- containerd --------------------------------------------------------------------------

    def _start_containerd(self, tools: dict[str, str]) -> None:
        base = self.node_dir / "containerd"
        base.mkdir(parents=True, exist_ok=True)
        cni_conf = self.node_dir / "cni" / "net.d"
        cni_conf.mkdir(parents=True, exist_ok=True)
        (cni_conf / "10-drs-node.conflist").write_text(json.dumps({
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
                        "ranges": [[{"subnet": POD_SUBNET}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.node_dir / "cni" / "ipam"),
                    },
                },
                {"type": "loopback"},
            ],
        }, indent=2))
        config = f"""\
version = 2
root = "{base / 'root'}"
state = "{base / 'state'}"

[grpc]
  address = "{self.socket}"

[ttrpc]
  address = "{self.socket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{base / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{self.pause_image.reference}"
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
        BinaryName = "{tools['runc']}"
        Root = "{base / 'runc'}"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{tools['cni']}"
    conf_dir = "{cni_conf}"
"""
        (base / "config.toml").write_text(config)
        self.procs["containerd"] = self._spawn(
            "containerd",
            self._nsenter([tools["containerd"], "--config", str(base / "config.toml")]),
        )
        deadline = time.monotonic() + 30
        while self.ctr("version", check=False).returncode != 0:
            if self.procs["containerd"].poll() is not None or time.monotonic() > deadline:
                raise DevClusterError("containerd did not start:\n" + self.log_tail("containerd"))
            time.sleep(0.2)

    def ctr(self, *args: str, check: bool = True,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [shutil.which("ctr") or "ctr", "--address", str(self.socket), "-n", "k8s.io", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if check and proc.returncode != 0:
            raise DevClusterError(f"ctr {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def import_image(self, image: ImageArchive) -> None:
        """Load a docker-archive into the node's containerd (what `kind load` does)."""
        self.ctr("images", "import", "--snapshotter", "overlayfs", str(image.archive))

    # -- controller-manager, scheduler, kubelet ---------------------------------------------

    def _start_controller_manager(self) -> None:
        assert self.node_binaries is not None
        self.procs["kube-controller-manager"] = self._spawn("kube-controller-manager", [
            str(self.node_binaries.kube_controller_manager),
            f"--kubeconfig={self.kubeconfig}",
            f"--root-ca-file={self.ca_path}",
            f"--service-account-private-key-file={self.sa_keys.key}",
            "--use-service-account-credentials=false",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            "--controllers=*",
        ])

    def _start_scheduler(self) -> None:
        assert self.node_binaries is not None
        self.procs["kube-scheduler"] = self._spawn("kube-scheduler", [
            str(self.node_binaries.kube_scheduler),
            f"--kubeconfig={self.kubeconfig}",
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
        ])

    def _start_kubelet(self) -> None:
        assert self.node_binaries is not None
        self._create_cgroup_root()
        self.kubelet_dir.mkdir(parents=True, exist_ok=True)
        self.pod_logs_dir.mkdir(parents=True, exist_ok=True)
        cred = self.ca.issue("kubelet", f"system:node:{NODE_NAME}", org="system:masters",
                             client=True)
        kubeconfig = self.node_dir / "kubelet.kubeconfig"
        write_kubeconfig(kubeconfig, server=f"https://{SERVICE_IP}:443", ca=self.ca_path,
                         user={"client-certificate": str(cred.cert),
                               "client-key": str(cred.key)})
        resolv = self.node_dir / "resolv.conf"
        resolv.write_text("# pods get no DNS server: nothing leaves the node's namespace\n")
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # This machine: cgroup v1 (refused from 1.35 unless told), no systemd, swap on.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{self.cgroup_name}",
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "podLogsDir": str(self.pod_logs_dir),
            "volumePluginDir": str(self.kubelet_dir / "volume-plugins"),
            "address": NODE_IP,
            "port": 10250,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": 10248,
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
                "x509": {"clientCAFile": str(self.ca_path)},
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
        config_path = self.node_dir / "kubelet.yaml"
        config_path.write_text(json.dumps(config, indent=2))
        self.procs["kubelet"] = self._spawn("kubelet", self._nsenter([
            str(self.node_binaries.kubelet),
            f"--config={config_path}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={self.kubelet_dir}",
            f"--cert-dir={self.kubelet_dir / 'pki'}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={NODE_IP}",
            "--v=1",
        ]))

    def _wait_node_ready(self) -> None:
        deadline = time.monotonic() + NODE_READY_TIMEOUT
        status = ""
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise DevClusterError(f"{name} exited with code {proc.returncode}:\n"
                                          + self.log_tail(name, 30))
            status = self.kubectl(
                "get", "node", NODE_NAME, "-o",
                'jsonpath={.status.conditions[?(@.type=="Ready")].status}', check=False,
            ).stdout
            if status == "True":
                return
            time.sleep(1)
        raise DevClusterError(f"node {NODE_NAME} not Ready after {NODE_READY_TIMEOUT:.0f}s "
                              f"(Ready={status!r}); kubelet log:\n" + self.log_tail("kubelet", 30))

    # -- reading the node ------------------------------------------------------------------

    def pod_log(self, namespace: str, pod: str, container: str | None = None) -> str:
        """The container log files of NAMESPACE/POD (every restart, oldest first)."""
        out = []
        for pod_dir in sorted(self.pod_logs_dir.glob(f"{namespace}_{pod}_*")):
            for log in sorted(pod_dir.glob(f"{container or '*'}/*.log")):
                out.append(log.read_text(errors="replace"))
        return "".join(out)

    def service_endpoints(self, namespace: str, service: str, port: str) -> list[str]:
        """``IP:PORT`` of the ready endpoints the Service's EndpointSlices list for PORT (name)."""
        out = self.kubectl("get", "endpointslices", "-n", namespace, "-l",
                           f"kubernetes.io/service-name={service}", "-o", "json").stdout
        found = []
        for item in json.loads(out)["items"]:
            ports = [p["port"] for p in item.get("ports") or [] if p.get("name") == port]
            for endpoint in item.get("endpoints") or []:
                if (endpoint.get("conditions") or {}).get("ready"):
                    found += [f"{address}:{p}" for address in endpoint["addresses"]
                              for p in ports]
        return found

    # -- stopping ----------------------------------------------------------------------------

    def _stop_node(self) -> None:
        for name in ("kube-scheduler", "kube-controller-manager"):
            if name in self.procs:
                _terminate(self.procs.pop(name))
        kubelet = self.procs.get("kubelet")
        if kubelet is not None and kubelet.poll() is None and self.apiserver is not None:
            # The kubelet stops the pods it no longer sees: containers, sandboxes, their
            # network namespaces and pod cgroups go the normal way.
            self.kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=1",
                         "--wait=false", check=False)
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline and self._running_tasks():
                time.sleep(1)
        if "kubelet" in self.procs:
            _terminate(self.procs.pop("kubelet"))
        if "containerd" in self.procs:
            self._remove_containers()
            _terminate(self.procs.pop("containerd"))
        self._kill_shims()
        for name in list(self.procs):
            _terminate(self.procs.pop(name))
        self._unmount_under(self.node_dir)  # the pods' volumes, and the namespace's file
        self._netns_created = False
        self._remove_cgroup_root()
        self._remove_host_leftovers()

    def _running_tasks(self) -> list[str]:
        if not self.socket.exists():
            return []
        out = self.ctr("tasks", "ls", check=False, timeout=30).stdout.splitlines()[1:]
        return [line.split()[0] for line in out if line.split() and "RUNNING" in line]

    def _remove_containers(self) -> None:
        """Whatever the kubelet left: tasks killed, sandboxes' namespaces unmounted, removed."""
        proc = self.ctr("containers", "ls", "-q", check=False, timeout=30)
        for cid in proc.stdout.split():
            info = self.ctr("containers", "info", cid, check=False, timeout=30).stdout
            self.ctr("tasks", "kill", "-s", "SIGKILL", cid, check=False, timeout=30)
            self.ctr("tasks", "delete", "-f", cid, check=False, timeout=30)
            self.ctr("containers", "delete", cid, check=False, timeout=30)
            try:
                namespaces = json.loads(info)["Spec"]["linux"]["namespaces"]
            except (ValueError, KeyError, TypeError):
                continue
            for ns in namespaces:
                path = ns.get("path") or ""
                if ns.get("type") == "network" and path.startswith(("/var/run/netns/cni-",
                                                                     "/run/netns/cni-")):
                    subprocess.run(["umount", path], capture_output=True, check=False)
                    Path(path).unlink(missing_ok=True)

    def _kill_shims(self) -> None:
        _kill_shims(self.socket)

    def _unmount_under(self, directory: Path) -> None:
        _unmount_under(directory)

    def _create_cgroup_root(self) -> None:
        """The kubelet's cgroupRoot, in every mounted hierarchy (the kubelet requires it)."""
        for hierarchy in _hierarchies():
            path = hierarchy / self.cgroup_name
            path.mkdir(exist_ok=True)
            for name in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset starts empty
                if (path / name).exists() and not (path / name).read_text().strip():
                    (path / name).write_text((hierarchy / name).read_text())

    def _remove_cgroup_root(self) -> None:
        _remove_cgroup(self.cgroup_name)

    def _enter_host(self) -> None:
        """Record what exists on the host before the first node starts; hold a shared lock."""
        HOST_STATE.mkdir(exist_ok=True)
        self._host_lock = open(HOST_STATE / "lock", "a+")  # noqa: SIM115 - held until stop
        fcntl.flock(self._host_lock, fcntl.LOCK_EX)
        record = HOST_STATE / "preexisting.json"
        if not record.exists():
            record.write_text(json.dumps(
                {p: os.path.lexists(p) for p in (*HOST_LEFTOVERS, "/run/netns")}))
        nodes = HOST_STATE / "nodes"
        nodes.mkdir(exist_ok=True)
        _clean_stale_nodes(nodes)
        (nodes / f"{self.id}.json").write_text(json.dumps({
            "pid": os.getpid(), "node_dir": str(self.node_dir), "socket": str(self.socket),
            "cgroup": self.cgroup_name,
        }))
        fcntl.flock(self._host_lock, fcntl.LOCK_SH)

    def _remove_host_leftovers(self) -> None:
        containers = Path("/var/log/containers")
        if containers.is_dir():
            logs = str(self.pod_logs_dir)
            for link in containers.iterdir():
                if link.is_symlink() and os.readlink(link).startswith(logs):
                    link.unlink(missing_ok=True)
        lock, self._host_lock = self._host_lock, None
        if lock is None:
            return
        (HOST_STATE / "nodes" / f"{self.id}.json").unlink(missing_ok=True)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()  # another node is still running: it cleans up when it stops
            return
        try:
            record = HOST_STATE / "preexisting.json"
            existed = json.loads(record.read_text()) if record.exists() else {}
            for path in HOST_LEFTOVERS:
                if existed.get(path) is False and os.path.lexists(path):
                    shutil.rmtree(path, ignore_errors=True)
            if existed.get("/run/netns") is False:  # containerd made it for pods' namespaces
                with contextlib.suppress(OSError):
                    os.rmdir("/run/netns")  # only when empty
            with contextlib.suppress(OSError):
                (HOST_STATE / "nodes").rmdir()  # only when no record of a stale node is left
                record.unlink(missing_ok=True)
                (HOST_STATE / "lock").unlink(missing_ok=True)
                HOST_STATE.rmdir()
        finally:
            lock.close()


def _kill_shims(socket: Path) -> None:
    """containerd's shims outlive it by design; end the ones of one node by pid."""
    needle = str(socket).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"containerd-shim" in cmdline and needle in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)


def _unmount_under(directory: Path) -> None:
    prefix = str(directory.resolve()) + "/"
    mounts = []
    try:
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].encode().decode("unicode_escape")
            if point.startswith(prefix):
                mounts.append(point)
    except OSError:
        return
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _hierarchies() -> list[Path]:
    if not CGROUP_ROOT.is_dir():
        return []
    return [p for p in CGROUP_ROOT.iterdir() if p.is_dir() and (p / "cgroup.procs").exists()]


def _remove_cgroup(name: str) -> None:
    """The node's cgroupRoot in every hierarchy: remaining processes killed, then rmdir."""
    for hierarchy in _hierarchies():
        root = hierarchy / name
        if not root.is_dir():
            continue
        dirs = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts),
                      reverse=True)
        for path in [*dirs, root]:
            for attempt in range(20):
                try:
                    for pid in (path / "cgroup.procs").read_text().split():
                        os.kill(int(pid), signal.SIGKILL)
                    path.rmdir()
                    break
                except (OSError, ValueError):
                    time.sleep(0.1 * (attempt + 1) if attempt < 5 else 0.5)


def _clean_stale_nodes(records: Path) -> None:
    """Nodes whose owning process was killed (SIGKILL: no cleanup ran): their containers' shims,
    mounts and cgroups go now. containerd and the kubelet died with their owner already."""
    for record in records.glob("*.json"):
        try:
            info = json.loads(record.read_text())
            os.kill(int(info["pid"]), 0)
            continue  # its owner is alive
        except ProcessLookupError:
            pass
        except (OSError, ValueError, KeyError):
            continue
        _kill_shims(Path(info["socket"]))
        _remove_cgroup(info["cgroup"])
        _unmount_under(Path(info["node_dir"]))
        record.unlink(missing_ok=True)
        _remove_orphan_pod_netns()


def _remove_orphan_pod_netns(min_age: float = 120.0) -> None:
    """Pod network namespaces (containerd's /run/netns/cni-*) that no process is in any more and
    that are older than MIN_AGE seconds (a live node starts its sandbox's pause process in its
    namespace within seconds): what the sandboxes of a killed node leave behind."""
    base = Path("/run/netns")
    if not base.is_dir():
        return
    in_use = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                in_use.add(os.stat(entry / "ns" / "net").st_ino)
    for path in base.glob("cni-*"):
        try:
            info = path.stat()
        except OSError:
            continue
        if info.st_ino not in in_use and time.time() - info.st_mtime > min_age:
            subprocess.run(["umount", str(path)], capture_output=True, check=False)
            with contextlib.suppress(OSError):
                path.unlink()


def _run(args: list[str], what: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DevClusterError(f"{what} failed: {proc.stderr.strip()}")


def _check_host() -> dict[str, str]:
    """Root and the node's Debian packages; a clear message instead of a late failure."""
    if os.geteuid() != 0:
        raise DevClusterError("a local node needs root (containerd, runc, network namespaces)")
    tools: dict[str, str] = {}
    missing = []
    for tool, package in (("containerd", "containerd"), ("ctr", "containerd"),
                          ("containerd-shim-runc-v2", "containerd"), ("runc", "runc"),
                          ("ip", "iproute2"), ("nsenter", "util-linux"),
                          ("unshare", "util-linux")):
        path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
        if path is None:
            missing.append(package)
        else:
            tools[tool] = path
    cni = next((d for d in CNI_BIN_DIRS if os.path.isfile(os.path.join(d, "bridge"))), None)
    if cni is None:
        missing.append("containernetworking-plugins")
    else:
        tools["cni"] = cni
    if missing:
        raise DevClusterError(
            "a local node needs Debian's " + ", ".join(sorted(set(missing)))
            + " (apt-get install containerd runc containernetworking-plugins iproute2)"
        )
    return tools


__all__ = ["NODE_IP", "SERVICE_IP", "LocalCluster", "free_port"]
