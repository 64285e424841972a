"""``drs-pause-operator simulator``: serve the DRS simulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web
from pydantic import ValidationError

from .app import create_app
from .auth import User
from .config import SimulatorConfig
from .core import Simulator
from .state import TaskSeed

log = logging.getLogger("drs_pause_operator.dev.simulator")


class SetupError(Exception):
    """A problem with the options or files, reported as one line (no traceback)."""


def build_parser(prog: str = "drs-pause-operator simulator") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description=(
            "A local fake of the DRS API (pause, batch-status, resume, batch-progress, task list, "
            "IAM)."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 = any free)")
    p.add_argument("--jobs", metavar="FILE", type=Path, help="JSON list of tasks to seed")
    auth = p.add_argument_group("authentication (each option repeats; none = accept any token)")
    auth.add_argument("--token", action="append", default=[], metavar="T", help="valid token")
    auth.add_argument("--access-key", action="append", default=[], metavar="AK")
    auth.add_argument("--secret-key", action="append", default=[], metavar="SK")
    auth.add_argument(
        "--user", action="append", default=[], metavar="NAME:PASSWORD:DOMAIN", help="IAM user"
    )
    auth.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="NAME=ID",
        help="IAM project name -> id for logins scoped by project name",
    )
    auth.add_argument("--token-ttl", type=float, metavar="SECONDS", help="issued token lifetime")
    tls = p.add_argument_group("TLS")
    tls.add_argument("--tls-cert", type=Path, metavar="F", help="certificate chain (PEM)")
    tls.add_argument("--tls-key", type=Path, metavar="F", help="private key (PEM)")
    behaviour = p.add_argument_group("behaviour")
    behaviour.add_argument("--rate-limit", type=float, metavar="PER_SECOND")
    behaviour.add_argument("--latency-ms", type=int, metavar="MS")
    behaviour.add_argument("--pause-delay", type=float, metavar="SECONDS")
    behaviour.add_argument("--resume-delay", type=float, metavar="SECONDS")
    behaviour.add_argument(
        "--delay-growth",
        type=float,
        metavar="RATE",
        help="replication delay gained per second while paused (default 1)",
    )
    behaviour.add_argument(
        "--delay-catch-up",
        type=float,
        metavar="RATE",
        help="replication delay lost per second after a resume (default 10)",
    )
    behaviour.add_argument(
        "--delay-floor",
        type=float,
        metavar="SECONDS",
        help="the replication delay a replicating task shrinks to (default 0)",
    )
    behaviour.add_argument("--not-found", choices=["request", "per-job"])
    behaviour.add_argument(
        "--not-found-body",
        choices=["full", "results-only"],
        help="body of the whole-request 400 DRS.M00289 (default full)",
    )
    behaviour.add_argument("--shuffle-results", action="store_true")
    behaviour.add_argument("--paused-spelling", choices=["PAUSING", "PAUSEING"])
    behaviour.add_argument("--seed", type=int, help="random seed (faults, shuffling)")
    behaviour.add_argument(
        "--no-admin", action="store_true", help="disable the /admin/ API (tests and demos only)"
    )
    p.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return p


def load_jobs(path: Path) -> list[TaskSeed]:
    """Tasks from a ``--jobs`` file, with a one-line error for any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(f"--jobs: file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SetupError(f"--jobs: cannot read {path}: {err}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise SetupError(f"--jobs: {path} is not valid JSON: {err}") from None
    if not isinstance(data, list):
        raise SetupError(f'--jobs: {path} must hold a JSON list of {{"id", "status"}} objects')
    seeds = []
    for index, item in enumerate(data):
        try:
            seeds.append(TaskSeed.model_validate(item))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}" for e in err.errors()
            )
            raise SetupError(f"--jobs: {path} item {index}: {problems}") from None
    return seeds


def _key_value(spec: str) -> tuple[str, str]:
    key, sep, value = spec.partition("=")
    if not (sep and key and value):
        raise SetupError(f"--project expects NAME=ID, got {spec!r}")
    return key, value


def build_simulator(args: argparse.Namespace) -> Simulator:
    if len(args.access_key) != len(args.secret_key):
        raise SetupError("--access-key and --secret-key must be given in pairs")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SetupError("--tls-cert and --tls-key must be given together")
    try:
        users = [User.parse(spec) for spec in args.user]
    except ValueError as err:
        raise SetupError(f"--user: {err}") from None
    settings: dict[str, object] = {"projects": dict(_key_value(s) for s in args.project)}
    for option, field in [
        ("rate_limit", "rate_limit_per_second"),
        ("latency_ms", "latency_ms"),
        ("pause_delay", "pause_delay_seconds"),
        ("resume_delay", "resume_delay_seconds"),
        ("delay_growth", "delay_growth_per_second"),
        ("delay_catch_up", "delay_catch_up_per_second"),
        ("delay_floor", "delay_floor_seconds"),
        ("not_found", "not_found"),
        ("not_found_body", "not_found_body"),
        ("paused_spelling", "paused_spelling"),
        ("seed", "seed"),
        ("token_ttl", "token_ttl_seconds"),
    ]:
        value = getattr(args, option)
        if value is not None:
            settings[field] = value
    if args.shuffle_results:
        settings["shuffle_results"] = True
    try:
        config = SimulatorConfig.model_validate(settings)
    except ValidationError as err:
        first = err.errors()[0]
        raise SetupError(f"invalid setting {first['loc'][0]}: {first['msg']}") from None
    tasks = load_jobs(args.jobs) if args.jobs else []
    return Simulator(
        config,
        tasks=tasks,
        tokens=args.token,
        access_keys=dict(zip(args.access_key, args.secret_key, strict=True)),
        users=users,
        admin=not args.no_admin,
    )


def _ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as err:
        raise SetupError(f"cannot load --tls-cert/--tls-key: {err}") from None
    return context


async def serve(sim: Simulator, host: str, port: int, tls: ssl.SSLContext | None) -> None:
    # Handlers first: a SIGTERM right after the listening line must still be a clean stop.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # A short grace period: a `timeout` fault may hold a connection for minutes, and a stop
    # must not wait for it (aiohttp's default is 60 s).
    runner = web.AppRunner(
        create_app(sim), access_log=None, handle_signals=False, shutdown_timeout=1.0
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=tls)
        try:
            await site.start()
        except OSError as err:
            raise SetupError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
        bound_port = runner.addresses[0][1]
        scheme = "https" if tls else "http"
        shown_host = f"[{host}]" if ":" in host else host
        if sim.auth.open:
            log.warning("no credentials configured: accepting any token, signature and login")
        if sim.admin_enabled:
            log.info("admin API enabled under /admin/ (tests and demos only; --no-admin)")
        log.info("%d task(s) seeded", len(sim.store.tasks))
        print(f"DRS simulator listening on {scheme}://{shown_host}:{bound_port}", flush=True)

        await stop.wait()
        log.info("stopping")
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        sim = build_simulator(args)
        tls = _ssl_context(args.tls_cert, args.tls_key) if args.tls_cert else None
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(sim, args.host, args.port, tls))
    except SetupError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
