"""Where an object stands for pause --wait and plan: settled or not (a resume and its catch-up
are under way until Resumed), the exit code, and the line it prints."""

from __future__ import annotations

import pytest

from drs_pause_operator.plugin.progress import Progress

from .fakes import J2, JOB, job, later, made, obj, planned, status

READ = "2026-11-28T09:59:00Z"


@pytest.mark.parametrize(
    ("st", "settled", "code"),
    [
        ({"phase": "Paused", "summary": {"total": 2, "paused": 2}}, True, 0),
        ({"phase": "PartiallyPaused", "summary": {"total": 2, "paused": 1, "failed": 1}},
         True, 1),
        ({"phase": "Failed", "summary": {"total": 1, "failed": 1}}, True, 1),
        ({"phase": "InProgress", "summary": {"total": 2, "paused": 1, "pending": 1}}, False, 1),
        ({}, False, 1),
    ],
)
def test_progress_and_exit_codes(st, settled, code) -> None:
    o = obj([], **st)
    if not st:
        o["status"] = {}
    progress = Progress.of(o)
    assert progress.settled is settled and progress.exit_code == code


@pytest.mark.parametrize(
    ("phase", "legs", "settled", "code"),
    [
        ("Resuming", ("Accepted", "Pending"), False, 1),
        ("CatchingUp", ("CatchingUp", "Resumed"), False, 1),
        ("Resumed", ("Resumed", "Resumed"), True, 0),
        ("Resumed", ("Resumed", "Skipped"), True, 0),  # paused by someone else: left paused
        ("PartiallyResumed", ("Resumed", "Failed"), True, 1),  # e.g. CatchUpTimeout
    ],
)
def test_a_resume_settles_only_once_caught_up(phase, legs, settled, code) -> None:
    jobs = [job(JOB, resumePhase=legs[0]), job(J2, resumePhase=legs[1])]
    progress = Progress.of(made(status(phase, jobs)))
    assert progress.resuming and progress.settled is settled and progress.exit_code == code


def test_a_resume_after_a_failed_pause_still_exits_1() -> None:
    jobs = [job(JOB, resumePhase="Resumed"), job(J2, "Failed", errorCode="DRS.M00289",
                                                 resumePhase="Skipped")]
    progress = Progress.of(made(status("Resumed", jobs)))
    assert progress.settled and progress.exit_code == 1


def test_every_resume_skipped_settles_as_the_pause() -> None:
    progress = Progress.of(made(status("Paused", [job(JOB, resumePhase="Skipped")])))
    assert not progress.resuming and progress.settled and progress.exit_code == 0
    assert progress.resume_time is None  # the resume happened: nothing to wait for


def test_a_plan_is_settled_with_its_planned_time_and_exits_1_for_a_pause() -> None:
    progress = Progress.of(made(planned()))
    assert progress.settled and progress.phase == "Planned" and progress.exit_code == 1
    unplanned = planned()
    del unplanned["plannedTime"]  # Planned, but the lookups failed: no plan yet
    assert not Progress.of(made(unplanned)).settled


def test_an_older_generation_is_not_settled() -> None:
    o = obj([], phase="Paused", summary={"total": 1, "paused": 1})
    o["metadata"]["generation"] = 2
    assert not Progress.of(o).settled
    o = made(planned())
    o["metadata"]["generation"] = 2
    assert not Progress.of(o).settled


def test_a_blocking_problem_ends_the_wait() -> None:
    o = obj([], conditions=[{"type": "Stalled", "status": "True", "reason": "NoMatches",
                             "message": "no DRS task"}])
    assert Progress.of(o).blocked == ("NoMatches", "no DRS task")
    o["status"]["conditions"][0]["reason"] = "CredentialsNotFound"  # may clear by itself
    assert Progress.of(o).blocked is None


def test_the_line_while_the_gate_holds_shows_the_largest_delay() -> None:
    jobs = [job(JOB, "Pending", delaySeconds=432, delayTime=READ, delayGateSince=READ),
            job(J2, "Pending", delaySeconds=400, delayTime=READ, delayGateSince=READ),
            job("55555555-2222-3333-4444-555555555555", "Paused", delaySeconds=900,
                delayTime=READ)]  # paused already: not waiting, its delay does not count
    progress = Progress.of(made(status("InProgress", jobs)))
    assert progress.line() == ("paused 1/3  failed 0  pending 2  waiting for delay 2, "
                               "largest 7m12s  (InProgress)")
    assert progress.bar() == (1, 3)


def test_the_line_while_catching_up_shows_the_largest_delay() -> None:
    jobs = [job(JOB, resumePhase="CatchingUp", delaySeconds=90, delayTime=READ),
            job(J2, resumePhase="Resumed", delaySeconds=600, delayTime=READ)]  # caught up
    progress = Progress.of(made(status("CatchingUp", jobs)))
    assert progress.line() == ("resumed 1/2  catching up 1  resuming 0  failed 0  "
                               "largest delay 1m30s  (CatchingUp)")
    assert progress.bar() == (1, 2)


def test_the_resume_time_is_known_until_the_resume_begins() -> None:
    due = later(30)
    progress = Progress.of(made(status("Paused", [job(JOB)], resumeTime=due)))
    assert progress.settled and progress.resume_time is not None
    begun = Progress.of(made(status("Resuming", [job(JOB, resumePhase="Pending")],
                                    resumeTime=due)))
    assert begun.resume_time is None and not begun.settled
