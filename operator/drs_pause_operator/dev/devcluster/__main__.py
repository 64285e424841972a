"""``python -m drs_pause_operator.dev.devcluster build|up``: build the binaries, or run a control
plane until Ctrl-C (prints the kubeconfig path).

``build --node`` also builds the node's binaries and the operator's image, ``build --tools``
promtool and actionlint (printed last); ``up --node`` runs a one-node cluster with the operator's
image imported.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from .build import (
    DevClusterError,
    binaries_dir,
    ensure_actionlint,
    ensure_binaries,
    ensure_node_binaries,
    ensure_promtool,
)
from .cluster import LocalControlPlane


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drs_pause_operator.dev.devcluster")
    parser.add_argument("command", choices=["build", "up"])
    parser.add_argument("--node", action="store_true",
                        help="also the node: kubelet, controller-manager, scheduler, the image")
    parser.add_argument("--tools", action="store_true",
                        help="also promtool and actionlint (printed last)")
    args = parser.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    try:
        if args.command == "build":
            started = time.monotonic()
            paths = list(vars(ensure_binaries(log=log)).values())
            if args.node:
                from .image import ensure_operator_image, ensure_pause_image

                node = ensure_node_binaries(log=log)
                paths += list(vars(node).values())
                paths += [ensure_pause_image(node.pause, log=log).archive,
                          ensure_operator_image(log=log).archive]
            if args.tools:
                paths.append(ensure_promtool(log=log))
                paths.append(ensure_actionlint(log=log))
            print(
                f"binaries ready in {binaries_dir()} ({time.monotonic() - started:.1f}s)",
                file=sys.stderr,
            )
            for path in paths:
                print(path)
            return 0
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        if args.node:
            from .image import ensure_operator_image
            from .node import LocalCluster

            image = ensure_operator_image(log=log)
            with LocalCluster(images=[image], log=log) as cluster:
                print(f"one-node cluster ready at {cluster.url}; image {image.reference}\n"
                      f"export KUBECONFIG={cluster.kubeconfig}", flush=True)
                while True:
                    time.sleep(3600)
        with LocalControlPlane() as cp:
            print(
                f"kube-apiserver ready at {cp.url}\nexport KUBECONFIG={cp.kubeconfig}", flush=True
            )
            while True:
                time.sleep(3600)
    except DevClusterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
