"""The replication-delay steps as pure functions (resource/delay.py): what a reading means,
the gate's three outcomes, catch-up, and the timers that survive a restart (they are read from
the job, not kept in memory)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from drs_pause_operator.resource import delay
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.spec import CatchUp, DelayGate
from drs_pause_operator.resource.verbs import (
    CATCHING_UP,
    FAILED,
    PAUSE,
    PAUSED,
    PENDING,
    RESUME,
    RESUMED,
)

from ..values import J1, J2, NOW

POLL = dt.timedelta(seconds=30)
GATE = DelayGate.model_validate({"maxDelay": "5m", "waitUpTo": "30m"})


@dataclass(frozen=True)
class Progress:
    """A ProgressAnswer (the shape of drs.progress.JobProgress)."""

    job_id: str
    delay_seconds: int | None = 0
    protocol_error: str | None = None
    error_code: str | None = None


def at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("answer", "known", "seconds", "text"),
    [
        (Progress(J1, 432), True, 432, "7m12s"),
        (Progress(J1, 0), True, 0, "0s"),
        (Progress(J1, None), True, None, "n/a"),  # -1 or empty: does not apply
        (Progress(J1, None, protocol_error="delay 'abc' is not a number"), False, None,
         "unknown"),
        (Progress(J1, None, error_code="DRS.M05003"), False, None, "unknown"),
        (None, False, None, "unknown"),  # left out of the answer
    ],
)
def test_what_a_reading_means(
    answer: Progress | None, known: bool, seconds: int | None, text: str
) -> None:
    r = delay.reading(answer)
    assert (r.known, r.seconds, r.text()) == (known, seconds, text)
    assert r.within(300) == (known and (seconds is None or seconds <= 300))


def _gated(*jobs: Job, answers: dict[str, Progress], now: dt.datetime, gate: DelayGate = GATE):
    return delay.apply_gate(gate, list(jobs), [j.job_id for j in jobs], answers, now, POLL)


def test_a_small_delay_or_one_that_does_not_apply_lets_the_pause_go() -> None:
    jobs, events = _gated(Job(J1, "target"), Job(J2, "all"),
                          answers={J1: Progress(J1, 299), J2: Progress(J2, None)}, now=NOW)
    assert [j.delay_at_pause for j in jobs] == [299, None]
    assert [j.pause for j in jobs] == [Leg(phase=PENDING)] * 2  # due: sent in this pass
    assert jobs[1].delay_time == NOW and jobs[1].delay_seconds is None  # n/a, read
    assert events == []


def test_a_high_delay_holds_the_pause_until_the_next_reading_and_keeps_its_start() -> None:
    (job,), _ = _gated(Job(J1, "target"), answers={J1: Progress(J1, 432)}, now=NOW)
    assert job.delay_gate_since == NOW and job.pause.next_attempt_time == at(30)
    assert delay.gate_waiting(job) and not delay.gate_due(GATE, [job], at(29))
    assert delay.gate_due(GATE, [job], at(30)) == [J1]
    (again,), _ = _gated(job, answers={J1: Progress(J1, 500)}, now=at(30))
    assert again.delay_gate_since == NOW  # from the status, not from this pass
    (near,), _ = _gated(job.update(delay_gate_since=at(-29 * 60 - 50)),
                        answers={J1: Progress(J1, 500)}, now=NOW)
    assert near.pause.next_attempt_time == at(10)  # never past the deadline


def test_an_unknown_reading_is_read_again_soon_and_never_passes() -> None:
    (job,), _ = _gated(Job(J1, "target"), answers={}, now=NOW)
    assert job.delay_at_pause is None and job.pause.next_attempt_time == at(5)
    assert job.delay_time is None  # nothing read
    (bad,), _ = _gated(Job(J1, "target"), answers={J1: Progress(J1, None, "bad delay")},
                       now=NOW)
    assert bad.pause.next_attempt_time == at(5)


@pytest.mark.parametrize("on_timeout", ["Pause", "Skip"])
def test_past_wait_up_to_the_gate_times_out_as_asked(on_timeout: str) -> None:
    gate = DelayGate.model_validate({"maxDelay": "5m", "waitUpTo": "30m",
                                     "onTimeout": on_timeout})
    waiting = Job(J1, "target", delay_gate_since=at(-1800))
    (job,), events = _gated(waiting, answers={J1: Progress(J1, 900)}, now=NOW, gate=gate)
    (event,) = events
    assert event[:2] == ("Warning", "DelayGateTimedOut") and f"{J1} (15m)" in event[2]
    assert job.delay_gate_since is None
    if on_timeout == "Pause":
        assert job.pause.phase == PENDING and job.delay_at_pause == 900
        assert "pausing anyway" in event[2]
    else:
        assert (job.pause.phase, job.pause.error_code) == (FAILED, delay.DELAY_TOO_HIGH)
        assert "15m > 5m after waiting 30m" in job.pause.error_message


def test_wait_up_to_zero_reads_once() -> None:
    gate = DelayGate.model_validate({"maxDelay": "5m"})
    (job,), events = _gated(Job(J1, "target"), answers={J1: Progress(J1, 301)}, now=NOW,
                            gate=gate)
    assert job.delay_at_pause == 301 and events[0][1] == "DelayGateTimedOut"


def test_only_a_first_send_is_gated() -> None:
    sent = Job(J1, "target", pause=Leg(phase=PENDING, attempts=1))
    paused = Job(J2, "target", pause=Leg(phase=PAUSED, attempts=1))
    assert delay.gate_due(GATE, [sent, paused], NOW) == []
    assert delay.gate_due(None, [Job(J1, "target")], NOW) == []  # no gate: nothing is read


CATCH_UP = CatchUp.model_validate({"maxDelay": "1m", "timeout": "2h"})


def _resumed(**changes: object) -> Job:
    leg = Leg(phase=RESUMED, attempts=1, accepted_time=NOW).update(**changes)
    return Job(J1, "target", pause=Leg(phase=PAUSED, attempts=1), resume=leg)


def test_a_verified_resume_catches_up_before_it_is_resumed() -> None:
    (job,) = delay.begin_catch_up(CATCH_UP, [_resumed()])
    assert job.resume.phase == CATCHING_UP and delay.catch_up_due(CATCH_UP, [job], NOW) == [J1]
    assert delay.begin_catch_up(None, [_resumed()])[0].resume.phase == RESUMED
    caught = _resumed().update(caught_up_time=NOW)
    assert delay.begin_catch_up(CATCH_UP, [caught]) == [caught]  # caught up once: stays

    (behind,), events = delay.apply_catch_up(CATCH_UP, [job], [J1], {J1: Progress(J1, 420)},
                                             at(60), POLL)
    assert behind.resume.phase == CATCHING_UP and behind.resume.next_attempt_time == at(90)
    assert events == []
    (done,), events = delay.apply_catch_up(CATCH_UP, [behind], [J1], {J1: Progress(J1, 60)},
                                           at(90), POLL)
    assert (done.resume.phase, done.caught_up_time) == (RESUMED, at(90))
    assert events[0][:2] == ("Normal", "CaughtUp")
    (na,), _ = delay.apply_catch_up(CATCH_UP, [job], [J1], {J1: Progress(J1, None)}, NOW, POLL)
    assert na.resume.phase == RESUMED  # a delay that does not apply counts as caught up


def test_a_catch_up_times_out_from_the_resume_s_acceptance() -> None:
    (job,) = delay.begin_catch_up(CATCH_UP, [_resumed()])
    (late,), events = delay.apply_catch_up(CATCH_UP, [job], [J1], {J1: Progress(J1, 420)},
                                           at(7200), POLL)
    assert (late.resume.phase, late.resume.error_code) == (FAILED, delay.CATCH_UP_TIMEOUT)
    assert "the task keeps running" in late.resume.error_message
    assert events[0][:2] == ("Warning", "CatchUpTimedOut")
    (near,), _ = delay.apply_catch_up(CATCH_UP, [job], [J1], {J1: Progress(J1, 420)},
                                      at(7190), POLL)
    assert near.resume.next_attempt_time == at(7200)
    assert delay.next_reading([near], NOW) == at(7200)


@pytest.mark.parametrize("verb", [PAUSE, RESUME])
def test_a_failed_reading_holds_the_legs_it_was_for(verb) -> None:
    jobs = [Job(J1, "target"), Job(J2, "target")]
    held = delay.hold(verb, jobs, [J1], at(3))
    assert held[0].leg(verb).next_attempt_time == at(3) and held[1] == jobs[1]


def test_the_largest_reading() -> None:
    jobs = [Job(J1, "t", delay_seconds=5), Job(J2, "t", delay_seconds=70), Job("x", "t")]
    assert delay.largest(jobs) == 70 and delay.largest([Job("x", "t")]) is None
