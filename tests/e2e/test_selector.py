"""spec.selector end to end: tasks chosen from DRS's task list by the operator process, on a real
API server, counted from what the operator sent to the simulator."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from .conftest import condition, get_status, operator_args, token_secret, wait_for

SECRET = {"credentialsSecretRef": {"name": "drs-credentials"}}
CYCLE = ["INCRE_TRANSFER_STARTED", "INCRE_TRANSFER_STARTED", "FULL_TRANSFER_COMPLETE",
         "PAUSING", "CREATING"]


def manifest(namespace: str, name: str, spec: dict) -> str:
    return json.dumps({
        "apiVersion": "drs.cloudops.dev/v1alpha1", "kind": "DrsJobPause",
        "metadata": {"name": name, "namespace": namespace}, "spec": spec,
    })


def project() -> str:
    """A project of the test's own: its tasks and calls are apart from every other test's."""
    return uuid.uuid4().hex


def calls(simulator, endpoint: str, project_id: str) -> list[dict]:
    return [c for c in simulator.calls(endpoint) if c.get("project_id") == project_id]


def sent(simulator, project_id: str) -> list[str]:
    """Every job id the operator sent in a pause request for this project (repeats kept)."""
    return [j for c in calls(simulator, "pause", project_id) for j in c.get("job_ids") or []]




def seed(simulator, project_id: str, prefix: str) -> dict[str, str]:
    """250 sync tasks of this project named {prefix}-00000.. (states in turn), plus 20 migration
    tasks with the same names that no sync selector may choose; id -> state."""
    fields = {"project_id": project_id, "db_use_type": "sync"}
    ids = simulator.seed_many(250, prefix=prefix, statuses=CYCLE, fields=fields)
    simulator.seed_many(20, prefix=prefix + "m", fields={**fields, "db_use_type": "migration"})
    return {i: CYCLE[n % len(CYCLE)] for n, i in enumerate(ids)}


@pytest.fixture
def operator(cluster, namespace, simulator, start_operator):
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    return start_operator(operator_args(simulator.url, namespace))


def test_selector_pauses_exactly_the_matching_tasks_once(cluster, namespace, simulator, operator):
    pid, prefix = project(), f"orders-{uuid.uuid4().hex[:6]}"
    states = seed(simulator, pid, prefix)
    ids = list(states)
    # ^prefix-001: tasks 100..199; of those, the pausable ones (not PAUSING, not CREATING).
    expected = {i for n, i in enumerate(ids) if 100 <= n < 200
                and states[i] not in ("PAUSING", "CREATING")}
    assert len(expected) == 60
    spec = {"projectId": pid, **SECRET, "selector": {
        "dbUseType": "sync", "nameRegex": f"^{prefix}-001", "pauseMode": "target",
        "maxJobs": 100}}
    body = manifest(namespace, "orders", spec)
    cluster.kubectl("apply", "-f", "-", input=body)

    status = wait_for(lambda: (s := get_status(cluster, namespace, "orders")).get("phase")
                      == "Paused" and s, timeout=120, what="Paused")
    pages = calls(simulator, "list", pid)
    assert [c["listed"] for c in pages] == [100, 100, 50]  # three pages, every sync task
    assert sorted(sent(simulator, pid)) == sorted(expected)  # each matching task, once
    selection = status["selection"]
    assert selection["observedGeneration"] == 1 and selection["matched"] == 60
    assert sorted(selection["jobIds"]) == sorted(expected)
    assert status["summary"] == {"total": 60, "paused": 60, "failed": 0, "pending": 0}
    assert {j["jobId"] for j in status["jobs"]} == expected

    # A GitOps re-sync (the same manifest again) resolves nothing and sends nothing.
    before = len(simulator.calls())
    out = cluster.kubectl("apply", "-f", "-", input=body).stdout
    assert "unchanged" in out
    time.sleep(5)
    assert len(simulator.calls()) == before
    assert get_status(cluster, namespace, "orders")["selection"] == selection

    # reselect: a new matching task is added and paused; the paused ones stay, unsent.
    new_id = str(uuid.uuid4())
    simulator.seed([{"id": new_id, "name": f"{prefix}-00150x", "project_id": pid,
                     "db_use_type": "sync", "status": "INCRE_TRANSFER_STARTED"}])
    cluster.kubectl("annotate", "djp", "orders", "-n", namespace,
                    "drs.cloudops.dev/reselect=1")

    def reselected():
        s = get_status(cluster, namespace, "orders")
        done = (s.get("selection", {}).get("reselectToken") == "1"
                and s.get("phase") == "Paused" and s["summary"]["total"] == 61)
        return s if done else None

    status = wait_for(reselected, timeout=90, what="reselected and Paused")
    assert new_id in status["selection"]["jobIds"]
    assert sorted(sent(simulator, pid)) == sorted([*expected, new_id])
    assert len(calls(simulator, "list", pid)) == 6  # one more resolution, three pages
    # The annotation is acted on once: nothing more happens while it keeps its value.
    before = len(simulator.calls())
    time.sleep(4)
    assert len(simulator.calls()) == before


def test_more_matches_than_max_jobs_pause_nothing(cluster, namespace, simulator, operator):
    pid, prefix = project(), f"bulk-{uuid.uuid4().hex[:6]}"
    seed(simulator, pid, prefix)
    spec = {"projectId": pid, **SECRET, "selector": {
        "dbUseType": "sync", "nameRegex": f"^{prefix}-", "pauseMode": "all", "maxJobs": 25}}
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, "too-many", spec))

    def stalled():
        s = get_status(cluster, namespace, "too-many")
        return s if condition(s, "Stalled").get("reason") == "TooManyMatches" else None

    status = wait_for(stalled, timeout=90, what="Stalled TooManyMatches")
    stalled_cond = condition(status, "Stalled")
    assert stalled_cond["status"] == "True"
    assert "150 DRS tasks match" in stalled_cond["message"]
    assert "maxJobs (25)" in stalled_cond["message"]
    assert status["selection"]["matched"] == 150 and status["selection"]["jobIds"] == []
    assert condition(status, "Ready")["status"] == "False"
    time.sleep(3)
    assert sent(simulator, pid) == []
    events = json.loads(cluster.kubectl("get", "events", "-n", namespace, "-o", "json").stdout)
    assert ("too-many", "TooManyMatches") in [
        (e["involvedObject"]["name"], e["reason"]) for e in events["items"]]

    spec["selector"]["nameRegex"] = f"^{prefix}-nothing-like-this"
    cluster.kubectl("apply", "-f", "-", input=manifest(namespace, "too-many", spec))

    def no_matches():
        s = get_status(cluster, namespace, "too-many")
        return s if condition(s, "Stalled").get("reason") == "NoMatches" else None

    status = wait_for(no_matches, timeout=90, what="Stalled NoMatches")
    assert status["selection"]["observedGeneration"] == 2
    assert sent(simulator, pid) == []


BAD = {
    "no dbUseType": ({"pauseMode": "target"}, ["spec.selector.dbUseType", "Required value"]),
    "bad regex": ({"dbUseType": "sync", "pauseMode": "target", "nameRegex": "^orders-(eu"},
                  ["spec.selector.nameRegex", "valid regular expression"]),
    "bad dbUseType": ({"dbUseType": "oracle", "pauseMode": "target"},
                      ["spec.selector.dbUseType", "Unsupported value"]),
    "maxJobs over 500": ({"dbUseType": "sync", "pauseMode": "all", "maxJobs": 501},
                         ["spec.selector.maxJobs", "less than or equal to 500"]),
    "no pauseMode": ({"dbUseType": "sync"}, ["spec.selector.pauseMode", "Required value"]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_selectors_are_rejected_at_admission(cluster, namespace, case) -> None:
    selector, expected = BAD[case]
    spec = {"projectId": project(), "selector": selector}
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, "bad", spec),
                             check=False)
    print(result.stderr)
    assert result.returncode != 0, f"{case} was accepted"
    for text in expected:
        assert text in result.stderr, f"{case}: {text!r} not in {result.stderr!r}"


@pytest.mark.parametrize("jobs", [True, False], ids=["both", "neither"])
def test_exactly_one_of_jobs_and_selector(cluster, namespace, jobs: bool) -> None:
    spec: dict = {"projectId": project()}
    if jobs:
        spec["jobs"] = [{"jobId": "8d0e8e36-a618-490d-8a46-8c61ac9jb502", "pauseMode": "all"}]
        spec["selector"] = {"dbUseType": "sync", "pauseMode": "target"}
    result = cluster.kubectl("apply", "-f", "-", input=manifest(namespace, "bad", spec),
                             check=False)
    print(result.stderr)
    assert result.returncode != 0
    assert "set exactly one of spec.jobs (task IDs) and spec.selector" in result.stderr
