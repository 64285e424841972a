"""Start and stop a real etcd + kube-apiserver on 127.0.0.1, envtest-style.

There is no controller-manager, scheduler or kubelet: Pods never run, namespaces never finish
terminating and no default ServiceAccounts appear. CRDs, the status subresource, watches, RBAC,
ServiceAccount tokens, server-side dry-run and Pod Security admission all work, which is what the
operator and its chart need.
"""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

from ..child_process import die_with_parent
from .build import Binaries, DevClusterError, ensure_binaries
from .certs import CertificateAuthority, CertPair, service_account_keys
from .kubeconfig import write_kubeconfig

PORT_ATTEMPTS = 3  # free ports taken by someone else before the server bound them
READY_TIMEOUT = 120.0  # /readyz takes 10-60 s on 2 cores while etcd and RBAC bootstrap


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LocalControlPlane:
    """etcd + kube-apiserver as child processes; a context manager that always stops them."""

    def __init__(
        self,
        workdir: Path | None = None,
        binaries: Binaries | None = None,
        log: Callable[[str], object] = print,
        *,
        server_names: tuple[str, ...] = (),
        disable_admission_plugins: tuple[str, ...] = ("ServiceAccount",),
    ) -> None:
        # server_names: more names for the serving certificate (a node's pods reach the API
        # server at the `kubernetes` Service's address). ServiceAccount admission is off unless
        # something creates default ServiceAccounts (a controller-manager) and mounts tokens.
        self.server_names = server_names
        self.disable_admission_plugins = disable_admission_plugins
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="drs-cp-"))
        self.binaries = binaries
        self.log = log
        self.etcd: subprocess.Popen[bytes] | None = None
        self.apiserver: subprocess.Popen[bytes] | None = None
        self._args: dict[str, list[str]] = {}  # each child's command line, for a restart
        self.etcd_port = 0
        self.port = 0
        self.kubeconfig = self.workdir / "admin.kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.binaries = self.binaries or ensure_binaries(log=self.log)
        pki = self.workdir / "pki"
        ca = self.ca = CertificateAuthority(pki)
        self.ca_path = ca.cert_path
        serving = ca.issue(
            "apiserver",
            "kube-apiserver",
            server_names=("127.0.0.1", "localhost", *self.server_names),
        )
        self.admin = ca.issue("admin", "admin", org="system:masters", client=True)
        self.sa_keys = service_account_keys(pki)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._start_servers(serving, ca)
                return
            except DevClusterError as err:
                # free_port() hands out a port that is free now; another process may bind it
                # before etcd or kube-apiserver does (seen once, as a full test run ended).
                if "address already in use" not in str(err) or attempt == PORT_ATTEMPTS:
                    raise
                self.log(f"a port was taken before a server bound it; new ports "
                         f"(attempt {attempt + 1} of {PORT_ATTEMPTS})")
                for proc in (self.apiserver, self.etcd):
                    if proc is not None:
                        _terminate(proc)
                self.apiserver = self.etcd = None
                shutil.rmtree(self.workdir / "etcd", ignore_errors=True)

    def _start_servers(self, serving: CertPair, ca: CertificateAuthority) -> None:
        assert self.binaries is not None
        pki, sa = ca.directory, self.sa_keys
        self._start_etcd()
        self.port = free_port()
        args = [
            str(self.binaries.kube_apiserver),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # A loopback advertise address is refused by the endpoint reconciler from 1.37 on.
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={serving.cert}",
            f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={ca.cert_path}",
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={sa.cert}",
            f"--service-account-signing-key-file={sa.key}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
        ]
        if self.disable_admission_plugins:
            args.append("--disable-admission-plugins=" + ",".join(self.disable_admission_plugins))
        self.apiserver = self._spawn("kube-apiserver", args)
        write_kubeconfig(
            self.kubeconfig,
            server=self.url,
            ca=self.ca_path,
            user={"client-certificate": str(self.admin.cert), "client-key": str(self.admin.key)},
        )
        self._wait_ready()

    def _start_etcd(self) -> None:
        assert self.binaries is not None
        self.etcd_port, peer = free_port(), free_port()
        self.etcd = self._spawn(
            "etcd",
            [
                str(self.binaries.etcd),
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--advertise-client-urls=http://127.0.0.1:{self.etcd_port}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=default=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",  # test data only
                "--log-level=warn",
            ],
        )

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        self._args[name] = args
        logfile = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        return subprocess.Popen(
            args,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - setsid + prctl only, no locks taken
        )

    def _wait_ready(self) -> None:
        ctx = ssl.create_default_context(cafile=str(self.ca_path))
        ctx.load_cert_chain(str(self.admin.cert), str(self.admin.key))
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            for name, proc in (("etcd", self.etcd), ("kube-apiserver", self.apiserver)):
                if proc is not None and proc.poll() is not None:
                    raise DevClusterError(
                        f"{name} exited with code {proc.returncode}; last log lines:\n"
                        + self.log_tail(name)
                    )
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError) as err:
                last = str(err)
            time.sleep(0.5)
        raise DevClusterError(
            f"kube-apiserver not ready after {READY_TIMEOUT:.0f}s ({last}); log tail:\n"
            + self.log_tail("kube-apiserver")
        )

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def restart_apiserver(self) -> None:
        """Stop and start kube-apiserver on the same port; etcd keeps the data."""
        assert self.apiserver is not None
        args = list(self._args["kube-apiserver"])
        _terminate(self.apiserver)
        self.apiserver = self._spawn("kube-apiserver", args)
        self._wait_ready()

    def stop_apiserver(self) -> list[str]:
        """Stop kube-apiserver (an outage); returns its arguments for :meth:`start_apiserver`."""
        assert self.apiserver is not None
        args = list(self._args["kube-apiserver"])
        _terminate(self.apiserver)
        return args

    def start_apiserver(self, args: list[str]) -> None:
        """Start kube-apiserver again with the arguments :meth:`stop_apiserver` returned."""
        self.apiserver = self._spawn("kube-apiserver", args)
        self._wait_ready()

    def restart_etcd(self, down: float = 0.0) -> None:
        """Stop etcd, wait DOWN seconds, start it again on the same port and data directory."""
        assert self.etcd is not None
        args = list(self._args["etcd"])
        _terminate(self.etcd)
        time.sleep(down)
        self.etcd = self._spawn("etcd", args)
        self._wait_ready()

    def stop(self) -> None:
        for proc in (self.apiserver, self.etcd):
            if proc is not None:
                _terminate(proc)
        self.apiserver = self.etcd = None
        if self._own_workdir and not os.environ.get("DRS_KEEP_CONTROLPLANE_DIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        assert self.binaries is not None
        proc = subprocess.run(
            [str(self.binaries.kubectl), f"--kubeconfig={kubeconfig or self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and proc.returncode != 0:
            raise DevClusterError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc

    def service_account_kubeconfig(self, namespace: str, name: str, path: Path) -> Path:
        """Create ServiceAccount NAMESPACE/NAME (if missing) and a kubeconfig with its token.

        Lets a test run the operator with exactly the RBAC a chart grants that account.
        """
        if self.kubectl("get", "sa", name, "-n", namespace, check=False).returncode != 0:
            self.kubectl("create", "serviceaccount", name, "-n", namespace)
        token = self.kubectl(
            "create", "token", name, "-n", namespace, "--duration=2h"
        ).stdout.strip()
        write_kubeconfig(
            path, server=self.url, ca=self.ca_path, user={"token": token}, namespace=namespace
        )
        return path


def _terminate(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(grace)
