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

This machine's quirks (cgroup v1, swap, no CAP_SYS_RESOURCE) are handled in the configuration
documents of :mod:`.nodeconfig`. Everything the node creates lives under the harness's folder, a
cgroup of its own (``cgroupRoot``) and its network namespace; stop removes the pods' containers,
mounts, cgroups and the namespace, and :mod:`.hoststate` what the kubelet and containerd leave on
the host.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from . import hoststate, nodeconfig
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
        (cni_conf / "10-drs-node.conflist").write_text(json.dumps(
            nodeconfig.cni_conflist(POD_SUBNET, self.node_dir / "cni" / "ipam"), indent=2))
        config = nodeconfig.containerd_toml(
            base=base, socket=self.socket, sandbox_image=self.pause_image.reference,
            runc=tools["runc"], cni_bin_dir=tools["cni"], cni_conf_dir=cni_conf)
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
        config = nodeconfig.kubelet_config(
            cgroup_root=f"/{self.cgroup_name}", socket=self.socket, pod_logs_dir=self.pod_logs_dir,
            kubelet_dir=self.kubelet_dir, address=NODE_IP, client_ca=self.ca_path, resolv=resolv)
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
        hoststate.kill_shims(self.socket)
        for name in list(self.procs):
            _terminate(self.procs.pop(name))
        hoststate.unmount_under(self.node_dir)  # the pods' volumes, and the namespace's file
        self._netns_created = False
        hoststate.remove_cgroup(self.cgroup_name)
        self._leave_host()

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

    def _create_cgroup_root(self) -> None:
        hoststate.create_cgroup(self.cgroup_name)

    def _enter_host(self) -> None:
        self._host_lock = hoststate.enter(self.id, {
            "pid": os.getpid(), "node_dir": str(self.node_dir), "socket": str(self.socket),
            "cgroup": self.cgroup_name,
        })

    def _leave_host(self) -> None:
        hoststate.remove_pod_log_links(self.pod_logs_dir)
        lock, self._host_lock = self._host_lock, None
        if lock is not None:
            hoststate.leave(self.id, lock)




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
