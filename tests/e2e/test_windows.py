"""Pause windows end to end: DrsPauseWindow objects on the real API server, the operator as a
process, schedules every minute in real time (timeouts generous: the machine is shared).

The test control plane has no kube-controller-manager, so nothing here relies on garbage
collection: the window deletes children beyond its history limit itself.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
import yaml

from .conftest import (
    PROJECT,
    get_object,
    list_objects,
    new_job_id,
    operator_args,
    token_secret,
    wait_for,
)

pytestmark = pytest.mark.slow  # schedules in real minutes

ROOT = Path(__file__).resolve().parents[2]
MINUTE = 60


def dpw(namespace: str, name: str, jobs: list[str], **spec: object) -> str:
    body: dict[str, object] = {
        "schedule": "* * * * *",
        "template": {
            "projectId": PROJECT,
            "credentialsSecretRef": {"name": "drs-credentials"},
            "jobs": [{"jobId": j, "pauseMode": "target"} for j in jobs],
        },
    }
    body.update(spec)
    return json.dumps({
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsPauseWindow",
        "metadata": {"name": name, "namespace": namespace}, "spec": body,
    })


def window(cluster, namespace: str, name: str) -> dict:
    return get_object(cluster, "drspausewindows", namespace, name)


def children(cluster, namespace: str, name: str) -> dict[str, dict]:
    items = list_objects(cluster, "drsjobpauses", namespace, f"drs.cloudops.dev/window={name}")
    return {c["metadata"]["name"]: c for c in items}


def events(cluster, namespace: str, reason: str) -> list[dict]:
    out = cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
    return [e for e in json.loads(out)["items"] if e.get("reason") == reason]


def start_of(name: str) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(name.rsplit("-", 1)[1]) * 60, dt.UTC)


def rfc3339(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def resume_in_schema() -> bool:
    """Does the DrsJobPause CRD carry spec.resume? (Without it the API server prunes it.)"""
    crd = yaml.safe_load((ROOT / "crds" / "drsjobpauses.drs.cloudops.dev.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    return "resume" in spec.get("properties", {})


def wait_for_second(low: int, high: int) -> None:
    """Sleep until the wall clock's seconds are within [low, high] (away from minute edges)."""
    while not low <= time.time() % 60 <= high:
        time.sleep(0.5)


def task_status(simulator, job_id: str) -> str:
    return next(t["status"] for t in simulator.tasks() if t["id"] == job_id)


def test_a_window_pauses_resumes_at_its_end_and_waits_while_the_previous_child_resumes(
    cluster, namespace, simulator, start_operator
) -> None:
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    start_operator(operator_args(simulator.url, namespace))
    # 50-second windows every minute, and DRS takes 20 s to resume: the first child is still
    # resuming at the second start, which waits for it and starts late, to the same end.
    simulator.configure(resume_delay_seconds=20.0)
    try:
        cluster.kubectl("apply", "-f", "-", input=dpw(namespace, "nightly", [job],
                                                       duration="50s", historyLimit=2))
        stamp = window(cluster, namespace, "nightly")["metadata"]["creationTimestamp"]
        created = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        kids = wait_for(lambda: children(cluster, namespace, "nightly"),
                        timeout=2 * MINUTE + 30, what="the first child")
        assert len(kids) == 1
        (first, child), = kids.items()
        start = start_of(first)
        # The first start after the window's creation (the operator may start later than that).
        assert dt.timedelta(0) < start - created <= dt.timedelta(minutes=1)
        owner = child["metadata"]["ownerReferences"][0]
        assert owner["kind"] == "DrsPauseWindow" and owner["name"] == "nightly"
        assert owner["controller"] is True and owner["blockOwnerDeletion"] is True
        assert owner["uid"] == window(cluster, namespace, "nightly")["metadata"]["uid"]
        assert child["metadata"]["annotations"]["drs.cloudops.dev/scheduled-time"] == rfc3339(
            start)
        assert child["spec"]["jobs"] == [{"jobId": job, "pauseMode": "target"}]
        if resume_in_schema():
            assert child["spec"]["resume"] == {
                "at": rfc3339(start + dt.timedelta(seconds=50)), "onDelete": True}
        # The child is a DrsJobPause like any other: the operator pauses its task.
        wait_for(lambda: task_status(simulator, job) == "PAUSING", timeout=60, what="the pause")
        status = wait_for(lambda: get_window_status(cluster, namespace, "nightly", "active"),
                          timeout=30, what="status.active")
        assert status["active"] == [{"name": first}]
        assert status["lastScheduleTime"] == rfc3339(start)
        assert status["nextScheduleTime"] == rfc3339(start + dt.timedelta(minutes=1))

        # The next start finds the first child still resuming: it waits and says so...
        skipped = wait_for(lambda: events(cluster, namespace, "WindowSkipped"),
                           timeout=2 * MINUTE, what="a WindowSkipped Event")
        assert first in skipped[0]["message"]
        assert skipped[0]["involvedObject"]["kind"] == "DrsPauseWindow"
        second_start = start + dt.timedelta(minutes=1)
        assert dt.datetime.now(dt.UTC) >= second_start
        # ...the task is resumed (out of PAUSING) after the first window's end...
        wait_for(lambda: task_status(simulator, job) != "PAUSING", timeout=90,
                 what="the first resume")
        assert dt.datetime.now(dt.UTC) >= start + dt.timedelta(seconds=50)
        # ...and then the second window starts, late, with the end it was meant to have.
        second = child_name_for("nightly", second_start)
        kids = wait_for(lambda: (k := children(cluster, namespace, "nightly")) and second in k
                        and k, timeout=90, what="the second child")
        late = dt.datetime.fromisoformat(
            kids[second]["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
        assert late > second_start + dt.timedelta(seconds=5)
        if resume_in_schema():
            assert kids[second]["spec"]["resume"]["at"] == rfc3339(
                second_start + dt.timedelta(seconds=50))
        wait_for(lambda: task_status(simulator, job) == "PAUSING", timeout=60,
                 what="the second pause")
        assert len(events(cluster, namespace, "WindowSkipped")) == 1
    finally:
        simulator.configure(resume_delay_seconds=0.0)


def child_name_for(window_name: str, start: dt.datetime) -> str:
    return f"{window_name}-{int(start.timestamp()) // 60}"


def get_window_status(cluster, namespace: str, name: str, key: str) -> dict | None:
    status = window(cluster, namespace, name).get("status") or {}
    return status if status.get(key) else None


def test_history_limit_deletes_the_oldest_finished_children(
    cluster, namespace, simulator, start_operator
) -> None:
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    start_operator(operator_args(simulator.url, namespace))
    # A job DRS does not know: each child fails to pause, so it has nothing to resume and is
    # finished at its end (start + 10s). One finished child is kept.
    cluster.kubectl("apply", "-f", "-", input=dpw(namespace, "short", [new_job_id()],
                                                   duration="10s", historyLimit=1))
    seen: set[str] = set()

    def two_started() -> bool:
        seen.update(children(cluster, namespace, "short"))
        return len(seen) >= 2

    wait_for(two_started, timeout=3 * MINUTE + 30, interval=1, what="two children")
    first, second = sorted(seen, key=start_of)[:2]

    def first_deleted():
        now = children(cluster, namespace, "short")
        seen.update(now)
        return now if first not in now and second in now else None

    # Deleted by the window once the second child has finished too (no garbage collector here).
    wait_for(first_deleted, timeout=MINUTE + 30, interval=1, what=f"{first} deleted")
    status = wait_for(lambda: get_window_status(cluster, namespace, "short", "lastRun"),
                      timeout=30, what="lastRun")
    assert status["lastRun"]["name"] in seen - {first}


def test_after_an_outage_at_most_one_missed_window_starts(
    cluster, namespace, simulator, start_operator
) -> None:
    job = new_job_id()
    simulator.seed([{"id": job, "status": "INCRE_TRANSFER_STARTED"}])
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    # No operator yet: the windows' first starts come and go unseen.
    cluster.kubectl("apply", "-f", "-", input=dpw(namespace, "catch-up", [job], duration="10m"))
    cluster.kubectl("apply", "-f", "-", input=dpw(namespace, "strict", [new_job_id()],
                                                   duration="10m", startingDeadlineSeconds=5))
    created = dt.datetime.now(dt.UTC)
    # At least two missed starts, and away from a minute's edge so that the strict window's
    # 5-second deadline has surely passed when the operator starts.
    time.sleep(2 * MINUTE + 5)
    wait_for_second(15, 40)
    started_at = dt.datetime.now(dt.UTC)
    start_operator(operator_args(simulator.url, namespace))

    kids = wait_for(lambda: children(cluster, namespace, "catch-up"), timeout=MINUTE,
                    what="the catch-up child")
    assert len(kids) == 1
    (name,) = kids
    most_recent = started_at.replace(second=0, microsecond=0)
    assert start_of(name) == most_recent
    assert (most_recent - created).total_seconds() > MINUTE  # older starts were missed
    status = wait_for(lambda: get_window_status(cluster, namespace, "strict", "nextScheduleTime"),
                      timeout=30, what="the strict window's status")
    assert status["nextScheduleTime"] == rfc3339(most_recent + dt.timedelta(minutes=1))
    assert "lastScheduleTime" not in status
    assert children(cluster, namespace, "strict") == {}
    # Nothing more for the catch-up window before its next start.
    time.sleep(5)
    assert list(children(cluster, namespace, "catch-up")) == [name]
