"""``drs-pause-operator demo``: the whole product locally, with no cloud account.

Starts a local control plane (etcd + kube-apiserver), the DRS simulator seeded with three task
ids (one pausable, one already paused, one the simulator does not know), the operator, applies a
sample DrsJobPause, waits for it to settle, prints what a user would look at, and stops it all.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from drs_pause_operator.dev.child_process import die_with_parent
from drs_pause_operator.dev.devcluster import DevClusterError, LocalControlPlane

REPO_ROOT = Path(__file__).resolve().parents[3]
PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
TOKEN = "demo-token"
PAUSABLE = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
ALREADY_PAUSED = "3f1c2b7a-0d4e-4c8b-9a61-5e2f7c9d1a04"
UNKNOWN = "0badc0de-0000-4000-8000-00000000dead"
NAMESPACE = "demo"


def _sample(endpoint_note: str) -> dict[str, Any]:
    return {
        "apiVersion": "drs.cloudops.dev/v1alpha1",
        "kind": "DrsJobPause",
        "metadata": {"name": "nightly-maintenance", "namespace": NAMESPACE,
                     "annotations": {"demo/note": endpoint_note}},
        "spec": {
            "projectId": PROJECT,
            "credentialsSecretRef": {"name": "drs-credentials"},
            "jobs": [
                {"jobId": PAUSABLE, "pauseMode": "target"},
                {"jobId": ALREADY_PAUSED, "pauseMode": "all"},
                {"jobId": UNKNOWN, "pauseMode": "target"},
            ],
        },
    }


def _crd_dir() -> Path:
    crds = REPO_ROOT / "crds"
    if not crds.is_dir():
        raise DevClusterError(f"the CRD directory {crds} is missing: run the demo from a clone")
    return crds


class _Child:
    def __init__(self, name: str, args: list[str], workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "drs_pause_operator", *args],
            stdout=self._log, stderr=subprocess.STDOUT, env={**os.environ, **env},
            preexec_fn=die_with_parent,  # noqa: PLW1509 - setsid + prctl only, no locks taken
        )

    def wait_for_line(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log_path.read_text(errors="replace"))
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise DevClusterError(f"{self.name} did not start:\n{self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


def _say(text: str) -> None:
    print(f"==> {text}", flush=True)


def run(keep: bool, timeout: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="drs-demo-"))
    children: list[_Child] = []
    try:
        _say("starting a local Kubernetes control plane (the first run builds it: minutes)")
        with LocalControlPlane(log=_say) as cp:
            cp.kubectl("apply", "--server-side", "-f", str(_crd_dir()))
            cp.kubectl("wait", "--for=condition=Established",
                       "crd/drsjobpauses.drs.cloudops.dev", "--timeout=60s")
            jobs_file = workdir / "tasks.json"
            jobs_file.write_text(json.dumps([
                {"id": PAUSABLE, "status": "INCRE_TRANSFER_STARTED"},
                {"id": ALREADY_PAUSED, "status": "PAUSING"},
            ]))
            _say("starting the DRS simulator: one pausable task, one already paused, "
                 "and the third id unknown to it")
            sim = _Child("simulator", ["simulator", "--port", "0", "--token", TOKEN,
                                       "--jobs", str(jobs_file), "--pause-delay", "1"],
                         workdir, {})
            children.append(sim)
            url = sim.wait_for_line(r"listening on (http://\S+)").group(1)
            _say(f"simulator at {url}; starting the operator")
            op = _Child("operator", [
                "run", "--namespace", NAMESPACE, "--endpoint-template", url,
                "--iam-endpoint-template", url, "--allow-insecure-http", "--metrics-port", "0",
            ], workdir, {"KUBECONFIG": str(cp.kubeconfig)})
            children.append(op)
            cp.kubectl("create", "namespace", NAMESPACE)
            cp.kubectl("create", "secret", "generic", "drs-credentials", "-n", NAMESPACE,
                       f"--from-literal=token={TOKEN}")
            sample = _sample(f"endpoint {url} comes from the operator's --endpoint-template")
            _say("kubectl apply -f - <<EOF\n" + json.dumps(sample, indent=2) + "\nEOF")
            cp.kubectl("apply", "-f", "-", input=json.dumps(sample))
            phase = _wait_settled(cp, timeout)
            _say("kubectl get djp -n demo -o wide")
            print(cp.kubectl("get", "djp", "-n", NAMESPACE, "-o", "wide").stdout, flush=True)
            _say("kubectl get djp nightly-maintenance -n demo -o jsonpath='{.status}'")
            status = json.loads(cp.kubectl(
                "get", "djp", "nightly-maintenance", "-n", NAMESPACE, "-o", "json").stdout)
            print(json.dumps(status.get("status", {}), indent=2), flush=True)
            _say("kubectl get events -n demo")
            print(cp.kubectl("get", "events", "-n", NAMESPACE,
                             "--sort-by=.metadata.creationTimestamp").stdout, flush=True)
            if keep:
                _say(f"still running; in another shell: export KUBECONFIG={cp.kubeconfig}\n"
                     f"    operator log: {op.log_path}\n    press Ctrl-C to stop")
                try:
                    while op.proc.poll() is None:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
            ok = phase == "PartiallyPaused"
            _say("demo finished: " + ("the pausable and the already paused task are Paused, "
                                      "the unknown id Failed with DRS.M00289" if ok
                                      else f"unexpected phase {phase}; see {workdir}"))
            return 0 if ok else 1
    except DevClusterError as err:
        print(f"demo failed: {err}", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            child.stop()


def _wait_settled(cp: LocalControlPlane, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    phase = ""
    while time.monotonic() < deadline:
        out = cp.kubectl("get", "djp", "nightly-maintenance", "-n", NAMESPACE,
                         "-o", "jsonpath={.status.phase}", check=False).stdout.strip()
        if out != phase:
            _say(f"phase: {out or '(no status yet)'}")
            phase = out
        if phase in ("Paused", "PartiallyPaused", "Failed"):
            return phase
        time.sleep(0.3)
    return phase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="drs-pause-operator demo", description=__doc__)
    parser.add_argument("--keep", action="store_true",
                        help="Keep everything running after the demo until Ctrl-C.")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="Seconds to wait for the sample object to settle.")
    args = parser.parse_args(argv)
    return run(args.keep, args.timeout)
