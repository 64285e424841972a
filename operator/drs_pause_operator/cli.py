"""``drs-pause-operator run | simulator | demo``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path

from . import __version__


def _run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from drs_pause_operator.app import settings

    run = sub.add_parser(
        "run",
        help="Run the operator.",
        description="Run the operator (flags override DRS_PAUSE_* variables).",
    )
    settings.add_arguments(run)
    kopf_opts = run.add_argument_group("kopf options")
    kopf_opts.add_argument(
        "--liveness",
        metavar="URL",
        default=None,
        help="kopf liveness endpoint, e.g. http://0.0.0.0:8080/healthz",
    )
    kopf_opts.add_argument(
        "--peering",
        metavar="NAME",
        default=None,
        help="kopf peering object name, for several replicas (needs kopf's peering CRDs). "
        "Without it kopf runs standalone: one replica.",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="drs-pause-operator",
        description="Pause DRS tasks declaratively from Kubernetes.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _run_parser(sub)
    sub.add_parser("simulator", help="Run the DRS simulator.", add_help=False)
    sub.add_parser(
        "demo", help="Run everything locally: control plane, simulator, operator.", add_help=False
    )
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "simulator":
        from drs_pause_operator.dev.simulator.cli import main as simulator_main

        return simulator_main(argv[1:])
    if argv and argv[0] == "demo":
        from drs_pause_operator.dev.demo import main as demo_main

        return demo_main(argv[1:])
    args = parser.parse_args(argv)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from drs_pause_operator.app import logs, settings
    from drs_pause_operator.engine.runner import run_operator

    try:
        config = settings.load(args)
    except settings.SettingsError as err:
        print(f"drs-pause-operator: {err}", file=sys.stderr)
        return 2
    logs.configure(config.log_format, config.log_level)
    # Which installation runs: a virtualenv can hold another copy than the one meant.
    logging.getLogger(__name__).debug(
        "drs_pause_operator %s from %s", __version__, Path(__file__).resolve().parent
    )
    code = 0
    with contextlib.suppress(KeyboardInterrupt):
        code = asyncio.run(run_operator(config, liveness=args.liveness, peering=args.peering))
    return code


if __name__ == "__main__":
    sys.exit(main())
