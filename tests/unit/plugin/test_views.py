"""What kubectl drs prints, from hand-written objects: the tables fit 100 columns without
wrapping a row, and show the delay, the plan verdicts and every new phase."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from rich.console import Console

from drs_pause_operator.plugin import views

from .fakes import J2, J3, J4, J5, JOB, NOW, job, made, obj, planned, status


def render(renderable, width: int = 100) -> list[str]:
    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(renderable)
    return [line.rstrip() for line in console.export_text().splitlines()]


def cells(lines: list[str], header: str) -> dict[str, dict[str, str]]:
    """The table under the line starting with ``header``, read by its header's positions (so
    blank cells read as ""): first column's value -> {column: value}."""
    top = next(i for i, line in enumerate(lines) if line.startswith(header))
    found = {m.start(): m.group(1) for name in HEADERS
             for m in re.finditer(rf"(?<!\S)({re.escape(name)})(?!\S)", lines[top])}
    starts, names = sorted(found), [found[k] for k in sorted(found)]
    rows = {}
    for line in lines[top + 2:]:
        if not line.strip() or line.startswith("Messages:"):
            break
        values = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows[values[0]] = dict(zip(names, values, strict=True))
    return rows


HEADERS = [*views.CELLS, "NAMESPACE", "NAME", "PAUSED", "FAILED", "RESUMES", "AGE", "MESSAGE"]
FAILED_JOB = {"jobId": JOB, "pauseMode": "target", "phase": "Failed",
              "taskStatus": "INCRE_TRANSFER_STARTED", "errorCode": "DRS.M05003",
              "errorMessage": "Task information not found. " * 4, "attempts": 3}
PAUSED_JOB = {"jobId": J2, "pauseMode": "all", "phase": "Paused", "taskStatus": "PAUSING",
              "attempts": 1, "resumePhase": "Pending"}
GATE = {"delayGate": {"maxDelay": "5m"}}
CATCH_UP = {"resume": {"after": "2h", "catchUp": {"maxDelay": "1m", "timeout": "2h"}}}


def test_describe_fits_100_columns_and_names_each_error_code() -> None:
    o = obj([FAILED_JOB, PAUSED_JOB], phase="PartiallyPaused",
            summary={"total": 2, "paused": 1, "failed": 1, "pending": 0},
            conditions=[{"type": "Ready", "status": "False", "reason": "PartiallyPaused",
                         "message": "1 of 2 jobs paused; 1 failed: DRS.M05003"}],
            selection={"observedGeneration": 1, "matched": 2, "jobIds": [JOB, "x"],
                       "resolvedTime": "2026-11-28T07:00:01Z"})
    lines = render(views.describe(o, NOW))
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    for cell in ("DRS.M05003", "2 matched, 2 chosen", "PartiallyPaused"):
        assert cell in text
    rows = cells(lines, "JOB ID")
    assert rows[JOB]["PHASE"] == "Failed" and rows[JOB]["ERROR"] == "DRS.M05003"
    assert rows[J2]["TASK STATUS"] == "PAUSING" and rows[J2]["RESUME"] == "Pending"
    assert "DELAY" not in rows[JOB]  # no gate, no catch-up, no reading: no delay column
    assert "Task information not found." in text  # the message wraps, it is not cut


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"delaySeconds": 432, "delayTime": "2026-11-28T09:59:00Z"}, "7m12s"),
        ({"delaySeconds": 0, "delayTime": "2026-11-28T09:59:00Z"}, "0s"),
        ({"delaySeconds": 7200, "delayTime": "2026-11-28T09:59:00Z"}, "2h"),
        ({"delayTime": "2026-11-28T09:59:00Z"}, "n/a"),  # read: does not apply
        ({}, "-"),  # never read
        ({"delaySeconds": True}, "-"),  # not a number
    ],
)
def test_the_delay_of_a_job(fields, text) -> None:
    assert views.delay_text(fields) == text


def test_the_largest_delay_of_jobs() -> None:
    read = {"delayTime": "2026-11-28T09:59:00Z"}
    assert views.largest_delay([{**read, "delaySeconds": 30}, {**read, "delaySeconds": 432},
                                read, {}]) == "7m12s"
    assert views.largest_delay([read, {}]) == "n/a"
    assert views.largest_delay([{}, {}]) == ""


def test_describe_shows_each_jobs_delay_with_a_delay_gate() -> None:
    read = "2026-11-28T09:59:00Z"
    o = made(status("InProgress", [
        job(JOB, "Pending", delaySeconds=432, delayTime=read,
            delayGateSince="2026-11-28T09:55:00Z"),
        job(J2, "Paused", delayTime=read),  # read: does not apply
        job(J3, "Pending"),  # never read
    ]), GATE)
    lines = render(views.describe(o, NOW))
    assert max(len(line) for line in lines) <= 100
    rows = cells(lines, "JOB ID")
    assert [rows[j]["DELAY"] for j in (JOB, J2, J3)] == ["7m12s", "n/a", "-"]
    assert "Delay gate: maxDelay 5m, waitUpTo 0s, onTimeout Pause" in lines


def test_describe_a_catch_up_and_its_timeout() -> None:
    read = "2026-11-28T09:59:00Z"
    o = made(status("CatchingUp", [
        job(JOB, resumePhase="CatchingUp", delaySeconds=300, delayTime=read),
        job(J2, resumePhase="Failed", resumeErrorCode="CatchUpTimeout", delaySeconds=540,
            delayTime=read, resumeErrorMessage="resumed, but the replication delay is 9m > 1m "
            "after 2h: the task keeps running"),
        job(J3, resumePhase="Resumed", delayTime=read, caughtUpTime=read),
    ]), CATCH_UP)
    lines = render(views.describe(o, NOW))
    assert max(len(line) for line in lines) <= 100
    rows = cells(lines, "JOB ID")
    assert [rows[j]["RESUME"] for j in (JOB, J2, J3)] == ["CatchingUp", "Failed", "Resumed"]
    assert [rows[j]["DELAY"] for j in (JOB, J2, J3)] == ["5m", "9m", "n/a"]
    assert rows[J2]["ERROR"] == "CatchUpTimeout"
    assert "Catch-up:   maxDelay 1m, timeout 2h" in lines
    assert any("CatchUpTimeout: resumed, but the replication delay is 9m" in line
               for line in lines)


def test_a_plan_shows_each_verdict_and_its_message_not_the_pause_columns() -> None:
    o = made(planned())
    lines = render(views.describe(o, NOW))
    assert max(len(line) for line in lines) <= 100
    rows = cells(lines, "JOB ID")
    assert {j: rows[j]["PLAN"] for j in (JOB, J2, J3, J4)} == {
        JOB: "WouldPause", J2: "AlreadyPaused", J3: "NotPausable", J4: "NotFound"}
    assert rows[J3]["TASK STATUS"] == "CONFIGURATION" and rows[J4]["TASK STATUS"] == "-"
    assert set(rows[JOB]) == {"JOB ID", "MODE", "PLAN", "TASK STATUS"}  # nothing was sent
    text = "\n".join(lines)
    assert f"{J3}  NotPausable: task is CONFIGURATION, not one of the pausable" in text
    assert "NotFound: DRS.M00289" in text
    assert "Planned:    2026-11-28T09:59:00Z (60s ago" in text
    assert "Phase:      Planned  (4 jobs planned)" in text


def test_a_gated_plan_shows_the_delay_that_holds_a_job() -> None:
    read = "2026-11-28T09:59:00Z"
    o = made(status("Planned", [
        job(JOB, "Pending", plan="WouldPause", delaySeconds=12, delayTime=read),
        job(J5, "Pending", plan="WaitsForDelay", delaySeconds=432, delayTime=read,
            planMessage="replication delay 7m12s > 5m")], plannedTime=read), GATE)
    lines = render(views.plan_report(o))
    rows = cells(lines, "JOB ID")
    assert (rows[J5]["PLAN"], rows[J5]["DELAY"]) == ("WaitsForDelay", "7m12s")
    assert rows[JOB]["DELAY"] == "12s"
    assert any(line.startswith(J5) and "WaitsForDelay: replication delay 7m12s > 5m" in line
               for line in lines)


def test_the_plan_report_ends_with_the_ready_message() -> None:
    lines = render(views.plan_report(made(planned())))
    assert " ".join(lines[-2:]).startswith("plan: 1 would pause, 1 already paused")
    assert max(len(line) for line in lines) <= 100


def test_the_widest_job_table_gives_way_without_cutting_an_id() -> None:
    """Every column at its widest: codes and verdicts move to the message lines, and the ids
    stay whole."""
    read = "2026-11-28T09:59:00Z"
    jobs = [
        job(JOB, attempts=10, taskStatus="INCRE_TRANSFER_STARTED", resumePhase="CatchingUp",
            delaySeconds=36672, delayTime=read),
        job(J2, "Failed", errorCode="DelayTooHigh", resumePhase="Skipped",
            plan="WaitsForDelay", planMessage="replication delay 7m12s > 5m"),
        job(J3, resumePhase="Failed", resumeErrorCode="CatchUpTimeout"),
    ]
    o = made(status("CatchingUp", jobs), {**GATE, **CATCH_UP})
    lines = render(views.describe(o, NOW))
    assert max(len(line) for line in lines) <= 100
    rows = cells(lines, "JOB ID")
    assert set(rows) == {JOB, J2, J3}  # whole ids, one line each
    assert rows[JOB]["DELAY"] == "10h11m12s" and rows[J3]["RESUME"] == "Failed"
    assert "ERROR" not in rows[JOB] and "PLAN" not in rows[JOB]
    text = "\n".join(lines)
    assert f"{J2}  WaitsForDelay: replication delay 7m12s > 5m" in text
    assert f"{J2}  DelayTooHigh" in text and f"{J3}  CatchUpTimeout" in text
    # A narrower terminal: the cells give way (an ellipsis), the ids do not.
    narrow = render(views.describe(o, NOW, 80), 80)
    assert max(len(line) for line in narrow) <= 80
    assert all(any(line.startswith(f"{j} ") for line in narrow) for j in (JOB, J2, J3))
    wide = cells(render(views.describe(o, NOW, 200), 200), "JOB ID")
    assert wide[J2]["ERROR"] == "DelayTooHigh" and wide[J2]["PLAN"] == "WaitsForDelay"


def test_get_table_fits_and_shows_counts_and_problems() -> None:
    good = obj([PAUSED_JOB], phase="Paused",
               summary={"total": 1, "paused": 1, "failed": 0, "pending": 0},
               resumeTime="2026-11-28T12:00:00Z")
    stuck = obj([], phase="Failed", summary={"total": 0, "paused": 0, "failed": 0,
                                             "pending": 0},
                conditions=[{"type": "Stalled", "status": "True", "reason": "TooManyMatches",
                             "message": "120 DRS tasks match spec.selector, more than " * 3}])
    stuck["metadata"] = {**stuck["metadata"], "name": "selected"}
    lines = render(views.objects_table([good, stuck], NOW, namespaces=True))
    assert max(len(line) for line in lines) <= 100
    text = "\n".join(lines)
    assert "1/1" in text and "in 2h" in text and "3h" in text
    assert "TooManyMatches" in text
    assert lines[0].split()[:7] == ["NAMESPACE", "NAME", "PHASE", "PAUSED", "FAILED",
                                    "RESUMES", "AGE"]  # no object reads delays: no DELAY


def test_get_shows_the_largest_delay_and_the_new_phases() -> None:
    read = "2026-11-28T09:59:00Z"

    def named(name: str, o: dict) -> dict:
        o["metadata"] = {**o["metadata"], "name": name}
        return o

    items = [
        named("catching", made(status("CatchingUp", [
            job(JOB, resumePhase="CatchingUp", delaySeconds=432, delayTime=read),
            job(J2, resumePhase="Resumed", delaySeconds=20, delayTime=read)]), CATCH_UP)),
        named("planned", made(planned())),
        named("na", made(status("Paused", [job(JOB, delayTime=read)]), GATE)),
        named("unread", made(status("Paused", [job(JOB)]))),
    ]
    lines = render(views.objects_table(items, NOW))
    assert max(len(line) for line in lines) <= 100
    rows = cells(lines, "NAME")
    assert (rows["catching"]["PHASE"], rows["catching"]["DELAY"]) == ("CatchingUp", "7m12s")
    assert (rows["planned"]["PHASE"], rows["planned"]["DELAY"]) == ("Planned", "")
    assert rows["planned"]["MESSAGE"].startswith("plan: 1 would pause")
    assert rows["na"]["DELAY"] == "n/a" and rows["unread"]["DELAY"] == ""


def test_windows_table() -> None:
    window = {"metadata": {"name": "nightly-batch", "namespace": "data-platform"},
              "spec": {"schedule": "0 1 * * 1-5", "timeZone": "Europe/Berlin",
                       "duration": "2h"},
              "status": {"active": [{"name": "nightly-batch-29412060"}],
                         "lastRun": {"phase": "Resumed"},
                         "nextScheduleTime": "2026-11-29T00:00:00Z"}}
    lines = render(views.windows_table([window], NOW))
    assert max(len(line) for line in lines) <= 100
    assert lines[2].split() == ["nightly-batch", "0", "1", "*", "*", "1-5", "Europe/Berlin",
                                "2h", "false", "1", "Resumed", "in", "14h"]


def test_ages() -> None:
    for seconds, text in ((5, "5s"), (119, "119s"), (600, "10m"), (3 * 3600, "3h"),
                          (86400 * 2, "2d")):
        stamp = (NOW - dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert views.age(stamp, NOW) == text
