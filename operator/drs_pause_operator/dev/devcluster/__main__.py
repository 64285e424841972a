"""``python -m drs_pause_operator.dev.devcluster build|up``: build the binaries, or run a control
plane until Ctrl-C (prints the kubeconfig path)."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from .build import DevClusterError, binaries_dir, ensure_binaries
from .cluster import LocalControlPlane


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drs_pause_operator.dev.devcluster")
    parser.add_argument("command", choices=["build", "up"])
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            started = time.monotonic()
            bins = ensure_binaries(log=lambda m: print(m, file=sys.stderr, flush=True))
            print(
                f"control-plane binaries ready in {binaries_dir()} "
                f"({time.monotonic() - started:.1f}s)",
                file=sys.stderr,
            )
            for path in vars(bins).values():
                print(path)
            return 0
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
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
