"""Window exclusions and the skip-next annotation end to end: DrsPauseWindow objects on the real
API server, the operator as a process, every-minute schedules in real time.

Two windows share the three minutes after their creation (S1, S2, S3 are the next three whole
minutes): one excludes S1 and starts at S2; the other carries skip-next at creation, gets a new
value after S1 was skipped, skips S2 too and starts at S3.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from .conftest import new_job_id, operator_args, token_secret, wait_for
from .test_windows import children, dpw, events, rfc3339, wait_for_second, window

SKIP_NEXT = "drs.cloudops.dev/skip-next"


def apply_window(cluster, namespace: str, name: str, annotations: dict[str, str] | None = None,
                 **spec: object) -> None:
    body = json.loads(dpw(namespace, name, [new_job_id()], duration="20s", **spec))
    if annotations:
        body["metadata"]["annotations"] = annotations
    cluster.kubectl("apply", "-f", "-", input=json.dumps(body))


def status_of(cluster, namespace: str, name: str) -> dict:
    return window(cluster, namespace, name).get("status") or {}


def skipped(cluster, namespace: str, name: str) -> list[tuple[str, str]]:
    return [(s["time"], s["reason"])
            for s in status_of(cluster, namespace, name).get("skippedStarts", [])]


def skip_events(cluster, namespace: str, name: str) -> list[str]:
    return [e["message"] for e in events(cluster, namespace, "WindowSkipped")
            if e["involvedObject"]["name"] == name]


def child_of_start(name: str, start: dt.datetime) -> str:
    return f"{name}-{int(start.timestamp()) // 60}"


@pytest.mark.slow  # starts in real minutes: queued first, so it does not run on alone at the end
def test_an_excluded_start_and_two_skip_next_values_skip_their_starts_only(
    cluster, namespace, simulator, start_operator
) -> None:
    cluster.kubectl("apply", "-f", "-", input=token_secret(namespace))
    start_operator(operator_args(simulator.url, namespace))
    # The clock starts once the operator passes windows (its start-up may take a while here).
    apply_window(cluster, namespace, "probe", suspend=True)
    wait_for(lambda: status_of(cluster, namespace, "probe").get("conditions"), timeout=90,
             what="the operator's first window pass")
    wait_for_second(3, 40)  # at least 20 s before S1: both windows are seen before it
    minute = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    s1, s2, s3 = (minute + dt.timedelta(minutes=n) for n in (1, 2, 3))
    apply_window(cluster, namespace, "holiday",
                 exclusions=[{"from": s1.strftime("%Y-%m-%dT%H:%M"), "reason": "e2e holiday"}])
    apply_window(cluster, namespace, "skipper", annotations={SKIP_NEXT: "first"})

    # Before S1: both next starts already leave S1 out.
    for name in ("holiday", "skipper"):
        status = wait_for(lambda n=name: status_of(cluster, namespace, n).get("nextScheduleTime"),
                          timeout=20, what=f"{name}'s first status")
        assert status == rfc3339(s2), name
    assert dt.datetime.now(dt.UTC) < s1

    # S1: no child; each window records why and says so in an Event.
    assert wait_for(lambda: skipped(cluster, namespace, "holiday"), timeout=until_pass_of(s1),
                    what="holiday's skipped start") == [(rfc3339(s1), "Excluded: e2e holiday")]
    assert wait_for(lambda: skipped(cluster, namespace, "skipper"), timeout=10,
                    what="skipper's skipped start") == [(rfc3339(s1), "SkipNext")]
    assert status_of(cluster, namespace, "skipper")["skipNextToken"] == "first"
    assert children(cluster, namespace, "holiday") == {}
    assert children(cluster, namespace, "skipper") == {}
    # (An Event is posted just after the status write.)
    for name, reason in (("holiday", "Excluded: e2e holiday"), ("skipper", "SkipNext")):
        (message,) = wait_for(lambda n=name: skip_events(cluster, namespace, n), timeout=10,
                              what=f"{name}'s WindowSkipped Event")
        assert message.startswith(f"skipped the window starting {s1:%Y-%m-%dT%H:%M}+00:00: "
                                  f"{reason}"), message

    # A second value, set once the first was used: S2 is skipped as well, S3 will start.
    cluster.kubectl("annotate", "dpw", "skipper", "-n", namespace, "--overwrite",
                    f"{SKIP_NEXT}=second")
    wait_for(lambda: status_of(cluster, namespace, "skipper").get("nextScheduleTime")
             == rfc3339(s3), timeout=20, what="skipper's next start past S2")
    assert dt.datetime.now(dt.UTC) < s2

    # S2: the excluded window starts; the other skips again.
    kids = wait_for(lambda: children(cluster, namespace, "holiday"), timeout=until_pass_of(s2),
                    what="holiday's child at S2")
    assert list(kids) == [child_of_start("holiday", s2)]
    assert wait_for(lambda: len(skipped(cluster, namespace, "skipper")) == 2
                    and skipped(cluster, namespace, "skipper"), timeout=10,
                    what="skipper's second skip") == [(rfc3339(s1), "SkipNext"),
                                                      (rfc3339(s2), "SkipNext")]
    assert status_of(cluster, namespace, "skipper")["skipNextToken"] == "second"
    assert children(cluster, namespace, "skipper") == {}

    # S3: the annotation still holds "second", already used: the window starts.
    kids = wait_for(lambda: children(cluster, namespace, "skipper"), timeout=until_pass_of(s3),
                    what="skipper's child at S3")
    assert list(kids) == [child_of_start("skipper", s3)]
    assert len(skip_events(cluster, namespace, "skipper")) == 2
    assert len(skip_events(cluster, namespace, "holiday")) == 1
    assert len(skipped(cluster, namespace, "holiday")) == 1


def until_pass_of(start: dt.datetime) -> float:
    """Seconds until ``start``, plus time for the pass (the machine is shared)."""
    return max(0.0, (start - dt.datetime.now(dt.UTC)).total_seconds()) + 30


@pytest.mark.parametrize(("exclusion", "refusal"), [
    ({"from": "2026-12-26", "to": "2026-12-24"}, "from must not be after to"),
    ({"from": "2026-12-24T18:00Z"}, "spec.exclusions[0].from"),
    ({"from": "2026-12-24", "reason": "x" * 101}, "spec.exclusions[0].reason"),
])
def test_the_api_server_refuses_bad_exclusions(cluster, namespace, exclusion, refusal) -> None:
    body = dpw(namespace, "bad", [new_job_id()], duration="1h", exclusions=[exclusion])
    result = cluster.kubectl("apply", "-f", "-", input=body, check=False)
    assert result.returncode != 0 and refusal in result.stderr, result.stderr


def test_the_api_server_accepts_a_time_up_to_the_end_of_a_day(cluster, namespace) -> None:
    body = dpw(namespace, "evening", [new_job_id()], duration="1h", exclusions=[
        {"from": "2026-12-24T18:00", "to": "2026-12-24"}, {"from": "2026-12-31"}])
    cluster.kubectl("apply", "-f", "-", input=body)
    assert len(window(cluster, namespace, "evening")["spec"]["exclusions"]) == 2
