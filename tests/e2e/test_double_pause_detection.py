"""The double-pause checks have teeth: run against a deliberately broken operator, they fail.

The broken operator is built on the test side: ``broken/no_precheck/sitecustomize.py``, first on
the operator process's PYTHONPATH, makes it re-send, after a restart, the jobs whose pause may
already have gone out, without the batch-status look first (the product has no such switch).
Every task still ends PAUSING with one accepted pause, and every success answer is still one per
job (DRS answers the re-sent pause DRS.M01504 or DRS.M00304): the old checks passed. The count
of what was sent must catch it, on every run.
"""

from __future__ import annotations

import os
from pathlib import Path

from .conftest import operator_args
from .sent import kill_while_in_flight

BROKEN = Path(__file__).resolve().parent / "broken" / "no_precheck"


def successful_pauses(calls: list[dict], job: str) -> int:
    return sum(1 for c in calls if c["endpoint"] == "pause" for r in c.get("results") or []
               if r.get("id") == job and r.get("status") == "success")


def test_a_restart_without_the_precheck_is_caught(cluster, namespace, simulator, start_operator):
    verdict, jobs, in_flight = kill_while_in_flight(
        cluster, namespace, simulator, start_operator, operator_args(simulator.url, namespace),
        kills=1, objects=4, env={"PYTHONPATH": os.pathsep.join(
            [str(BROKEN), *filter(None, [os.environ.get("PYTHONPATH")])])})
    print(verdict.summary())
    calls = simulator.calls()
    tasks = {t["id"]: t for t in simulator.tasks()}
    # What the old checks looked at is clean...
    assert all(tasks[j]["pause_count"] == 1 for j in jobs)
    assert all(successful_pauses(calls, j) == 1 for j in jobs)
    # ...but what was sent is not: the jobs cut off by the kill went out again unlooked-at.
    cut_off = {j for call in in_flight for j in call["job_ids"]}
    caught = {job for job, _, why in verdict.double if "without a batch-status look" in why}
    assert caught, verdict.summary()
    assert caught <= cut_off
