"""``make demo-cluster``: the demo of ``drs-pause-operator demo`` with the operator in a pod.

Builds (or finds cached) the operator's image from the Dockerfile, starts a one-node cluster
(control plane, controller-manager, scheduler, containerd, kubelet), runs the DRS simulator on
the host with the same three tasks, installs the chart with ``helm install`` pointed at the
simulator, applies the same sample DrsJobPause, prints the pod and the object's status, and stops
it all. Needs root and Debian's containerd, runc, containernetworking-plugins, buildah and
mmdebstrap.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drs_pause_operator.dev.demo import (
    ALREADY_PAUSED,
    NAMESPACE,
    PAUSABLE,
    TOKEN,
    _Child,
    _sample,
    _say,
    _wait_settled,
)
from drs_pause_operator.dev.devcluster import DevClusterError
from drs_pause_operator.dev.devcluster.image import REPO_ROOT, ensure_operator_image
from drs_pause_operator.dev.devcluster.node import LocalCluster

RELEASE = "drs-pause-operator"
RELEASE_NAMESPACE = "drs-system"


def _helm(cluster: LocalCluster, workdir: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_CACHE_HOME=str(workdir / "helm"), HELM_CONFIG_HOME=str(workdir / "helm"),
               HELM_DATA_HOME=str(workdir / "helm"), KUBECONFIG=str(cluster.kubeconfig))
    assert cluster.binaries is not None
    proc = subprocess.run([str(cluster.binaries.helm), *args], capture_output=True, text=True,
                          env=env, timeout=600, check=False)
    if proc.returncode != 0:
        raise DevClusterError(f"helm {' '.join(args[:2])} failed: {proc.stderr.strip()}")
    return proc.stdout


def run(keep: bool, timeout: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="drs-demo-cluster-"))
    sim: _Child | None = None
    try:
        _say("building (or finding cached) the operator's image from the Dockerfile")
        image = ensure_operator_image(log=_say)
        _say(f"image {image.reference}; starting a one-node cluster (kubelet + containerd)")
        with LocalCluster(images=[image], log=_say) as cluster:
            jobs_file = workdir / "tasks.json"
            jobs_file.write_text(json.dumps([
                {"id": PAUSABLE, "status": "INCRE_TRANSFER_STARTED"},
                {"id": ALREADY_PAUSED, "status": "PAUSING"},
            ]))
            sim = _Child("simulator", ["simulator", "--port", "0", "--token", TOKEN,
                                       "--jobs", str(jobs_file), "--pause-delay", "1"],
                         workdir, {})
            url = sim.wait_for_line(r"listening on (http://\S+)").group(1)
            pod_url = "http://" + cluster.expose(int(url.rsplit(":", 1)[1]))
            _say(f"simulator at {url}, reached from pods at {pod_url}")
            cluster.kubectl("create", "namespace", RELEASE_NAMESPACE)
            values = {
                "image": {"repository": image.repository, "tag": image.tag,
                          "pullPolicy": "Never"},
                "operator": {"endpointTemplate": pod_url, "iamEndpointTemplate": pod_url,
                             "allowInsecureHttp": True},
                "watchNamespaces": [NAMESPACE],
            }
            values_file = workdir / "values.json"
            values_file.write_text(json.dumps(values, indent=2))
            cluster.kubectl("create", "namespace", NAMESPACE)
            cluster.kubectl("create", "secret", "generic", "drs-credentials", "-n", NAMESPACE,
                            f"--from-literal=token={TOKEN}")
            chart = REPO_ROOT / "charts" / "drs-pause-operator"
            _say(f"helm install {RELEASE} charts/drs-pause-operator -n {RELEASE_NAMESPACE} "
                 f"-f values.json --wait\n{json.dumps(values, indent=2)}")
            started = time.monotonic()
            _helm(cluster, workdir, "install", RELEASE, str(chart), "-n", RELEASE_NAMESPACE,
                  "-f", str(values_file), "--wait", "--timeout", "5m")
            _say(f"installed and Ready in {time.monotonic() - started:.0f}s; "
                 f"kubectl get pods -n {RELEASE_NAMESPACE} -o wide")
            print(cluster.kubectl("get", "pods", "-n", RELEASE_NAMESPACE, "-o", "wide").stdout,
                  flush=True)
            sample = _sample(f"endpoint {pod_url}: the simulator, from the chart's values")
            _say("kubectl apply -f - <<EOF\n" + json.dumps(sample, indent=2) + "\nEOF")
            cluster.kubectl("apply", "-f", "-", input=json.dumps(sample))
            phase = _wait_settled(cluster, timeout)
            _say(f"kubectl get djp -n {NAMESPACE} -o wide")
            print(cluster.kubectl("get", "djp", "-n", NAMESPACE, "-o", "wide").stdout, flush=True)
            status = json.loads(cluster.kubectl(
                "get", "djp", "nightly-maintenance", "-n", NAMESPACE, "-o", "json").stdout)
            print(json.dumps(status.get("status", {}), indent=2), flush=True)
            pod = json.loads(cluster.kubectl("get", "pods", "-n", RELEASE_NAMESPACE, "-o",
                                             "json").stdout)["items"][0]["metadata"]["name"]
            _say(f"the operator's log in the pod {RELEASE_NAMESPACE}/{pod} (last lines)")
            print("\n".join(cluster.pod_log(RELEASE_NAMESPACE, pod).splitlines()[-8:]),
                  flush=True)
            if keep:
                _say(f"still running; in another shell: export KUBECONFIG={cluster.kubeconfig}"
                     "\n    press Ctrl-C to stop")
                try:
                    while True:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
            ok = phase == "PartiallyPaused"
            _say("demo finished: " + ("the operator in its pod paused the pausable task, kept "
                                      "the paused one and failed the unknown id" if ok
                                      else f"unexpected phase {phase}; see {workdir}"))
            return 0 if ok else 1
    except DevClusterError as err:
        print(f"demo failed: {err}", file=sys.stderr)
        return 1
    finally:
        if sim is not None:
            sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drs_pause_operator.dev.demo_cluster",
                                     description=__doc__)
    parser.add_argument("--keep", action="store_true",
                        help="Keep everything running after the demo until Ctrl-C.")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="Seconds to wait for the sample object to settle.")
    args = parser.parse_args(argv)
    return run(args.keep, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
