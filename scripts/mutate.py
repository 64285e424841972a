#!/usr/bin/env python3
"""A small mutation run over the operator's safety mechanisms (``make mutate``).

Each mutant is one named, deliberate break of one mechanism: a source snippet replaced by
another, in a copy of this checkout. The tests that claim to guard that mechanism then run
against the copy; the mutant is *caught* when they fail, and *survives* when they pass (a
guard that cannot see the failure it names). Every mutant must be caught.

A snippet that no longer occurs exactly once is an error, not a survivor: the source moved on
and the mutant must follow it.

    python scripts/mutate.py                 # every mutant, its unit and end-to-end guards
    python scripts/mutate.py --fast          # unit guards only (no control plane)
    python scripts/mutate.py --only precheck-pause write-ahead
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = "operator/drs_pause_operator"


@dataclass(frozen=True)
class Mutant:
    name: str
    what: str  # the mechanism it breaks, in words
    path: str  # relative to the checkout
    old: str
    new: str
    unit: tuple[str, ...]  # fast guards (no control plane)
    e2e: tuple[str, ...] = field(default=())  # end-to-end guards


MUTANTS = (
    Mutant(
        "precheck-pause",
        "a pause leg sent before may be sent again without a batch-status look",
        f"{PKG}/resource/legs.py",
        "leg.phase == ACCEPTED or (leg.phase == PENDING and leg.attempts > 0)",
        "leg.phase == ACCEPTED or (leg.phase == PENDING and leg.attempts > 0"
        " and verb.name != 'pause')",
        ("tests/unit/resource/test_legs.py", "tests/unit/engine/test_leg_io.py",
         "tests/unit/engine/test_object_pass.py"),
        ("tests/e2e/test_leader.py",),
    ),
    Mutant(
        "precheck-resume",
        "a resume leg sent before may be sent again without a batch-status look",
        f"{PKG}/resource/legs.py",
        "leg.phase == ACCEPTED or (leg.phase == PENDING and leg.attempts > 0)",
        "leg.phase == ACCEPTED or (leg.phase == PENDING and leg.attempts > 0"
        " and verb.name != 'resume')",
        ("tests/unit/resource/test_legs.py", "tests/unit/engine/test_leg_io.py",
         "tests/unit/engine/test_object_pass_resume.py"),
        ("tests/e2e/test_resume.py",),
    ),
    Mutant(
        "precheck-no-answer",
        "a precheck that gets no answer for a leg lets it be sent",
        f"{PKG}/resource/legs.py",
        "elif leg.phase == PENDING and leg.attempts > 0 and leg.due(now):",
        "elif False:",
        ("tests/unit/resource/test_legs.py", "tests/unit/engine/test_leg_io.py"),
    ),
    Mutant(
        "write-ahead",
        "the attempt is not recorded in the status before the request leaves",
        f"{PKG}/engine/leg_io.py",
        "written = await ctx.writer.write(ctx.obj, ctx.render(jobs), ctx.olog)",
        "written = True",
        ("tests/unit/engine/test_object_pass.py", "tests/unit/engine/test_leg_io.py",
         "tests/unit/engine/test_object_pass_resume.py"),
        ("tests/e2e/test_operator.py",),
    ),
    Mutant(
        "held-status-dropped",
        "a final status whose write failed is not kept for the next pass",
        f"{PKG}/engine/status_writer.py",
        "if hold:  # the object's status is still the one the write would have replaced",
        "if False:",
        ("tests/unit/engine/test_object_pass.py",),
        ("tests/e2e/test_outages.py",),
    ),
    Mutant(
        "held-answers-overwrite",
        "the answers kept by a failed pass overwrite a final status held back by a failed write",
        f"{PKG}/engine/status_writer.py",
        "if obj.ref.uid not in self._unwritten:",
        "if True:",
        ("tests/unit/engine/test_object_pass.py",),
    ),
    Mutant(
        "held-answers-dropped",
        "a pass cancelled after DRS answered keeps nothing of the answers",
        f"{PKG}/engine/status_writer.py",
        "                if status is not None:\n"
        "                    self._unwritten[obj.ref.uid] = _Unwritten(obj.status, status)",
        "                pass",
        ("tests/unit/engine/test_object_pass.py",),
    ),
    Mutant(
        "backoff-step",
        "the retry backoff does not grow with a leg's transient answers",
        f"{PKG}/resource/legs.py",
        "failures = leg.transient_failures + (",
        "failures = 0 * leg.transient_failures + (",
        ("tests/unit/resource/test_legs.py", "tests/unit/resource/test_legs_properties.py",
         "tests/unit/engine/test_object_pass.py"),
    ),
    Mutant(
        "unanswered-lookups",
        "an overdue leg the lookups did not answer for fails at once",
        f"{PKG}/resource/legs.py",
        "if now - leg.accepted_time < 2 * limit or missed < UNSEEN_LOOKUPS:",
        "if False:",
        ("tests/unit/resource/test_legs.py", "tests/e2e/test_verification_timeout.py"),
    ),
    Mutant(
        "endpoint-allowlist",
        "any spec.endpoint is allowed, whichever Secret's credentials go there",
        f"{PKG}/app/settings.py",
        'return re.fullmatch(pattern, endpoint.rstrip("/")) is not None',
        "return True",
        ("tests/unit/app/test_settings.py", "tests/unit/resource/test_credentials.py"),
        ("tests/e2e/test_security_endpoints.py",),
    ),
    Mutant(
        "renew-deadline",
        "a leader that cannot renew its Lease goes on acting",
        f"{PKG}/engine/lease.py",
        "return now - last_renewed >= renew_deadline",
        "return False",
        ("tests/unit/engine/test_leader.py",),
        ("tests/e2e/test_leader.py",),
    ),
    Mutant(
        "gate-ignores-delay",
        "the delay gate pauses a task whatever its replication delay",
        f"{PKG}/resource/delay.py",
        "        if r.within(limit):\n            out.append(job.update(delay_at_pause=",
        "        if True:\n            out.append(job.update(delay_at_pause=",
        ("tests/unit/engine/test_delay_io.py",),
        ("tests/e2e/test_delay.py",),
    ),
    Mutant(
        "catch-up-state-alone",
        "a resume counts as caught up as soon as the task left PAUSING",
        f"{PKG}/resource/delay.py",
        "    if catch_up is None:\n        return jobs\n    return [",
        "    if True:\n        return jobs\n    return [",
        ("tests/unit/engine/test_delay_io.py",),
        ("tests/e2e/test_delay.py",),
    ),
    Mutant(
        "plan-sends",
        "a plan sends the pause it was only to describe",
        f"{PKG}/engine/object_pass.py",
        "            return await self._plan(io, jobs)",
        "            await io.drive(PAUSE, jobs)\n            return await self._plan(io, jobs)",
        ("tests/unit/engine/test_plan_io.py",),
        ("tests/e2e/test_plans.py",),
    ),
)


def _copy(dest: Path) -> None:
    """This checkout's tracked files as they are now (uncommitted edits included)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.split(b"\0")
    for name in filter(None, files):
        src = ROOT / os.fsdecode(name)
        if src.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def _apply(copy: Path, m: Mutant) -> None:
    path = copy / m.path
    text = path.read_text()
    if text.count(m.old) != 1:
        raise SystemExit(f"mutant {m.name}: its snippet occurs {text.count(m.old)} times in "
                         f"{m.path}, not once: update the mutant to the source")
    path.write_text(text.replace(m.old, m.new))


def _run(copy: Path, tests: tuple[str, ...]) -> tuple[int, float, str]:
    env = {**os.environ, "PYTHONPATH": str(copy / "operator")}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
        cwd=copy, env=env, capture_output=True, text=True, check=False,
    )
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
    return proc.returncode, time.monotonic() - started, tail[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fast", action="store_true", help="unit guards only")
    parser.add_argument("--only", nargs="*", help="mutant names")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    unknown = set(args.only or ()) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"unknown mutants: {sorted(unknown)}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="drs-mutate-") as tmp:
        for m in chosen:
            copy = Path(tmp) / m.name
            _copy(copy)
            _apply(copy, m)
            tests = m.unit if args.fast else m.unit + m.e2e
            rc, seconds, tail = _run(copy, tests)
            verdict = {0: "SURVIVED", 1: "caught"}.get(rc, f"error (pytest exit {rc})")
            rows.append((m.name, verdict, seconds, tail))
            print(f"{m.name:24} {verdict:10} {seconds:6.0f}s  {m.what}", flush=True)
            shutil.rmtree(copy, ignore_errors=True)
    caught = sum(r[1] == "caught" for r in rows)
    print(f"\n{caught} of {len(rows)} mutants caught")
    for name, verdict, _, tail in rows:
        if verdict != "caught":
            print(f"  {name}: {verdict}: {tail}")
    return 0 if caught == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
