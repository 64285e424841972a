"""The sent-request checks (sent.py) on call logs written by hand: what each one must flag and
what it must let pass. (No cluster: these are the checks' own tests.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .sent import judge, resent_in_same_process

JOB, OTHER = "job-a", "job-b"
T0 = dt.datetime(2026, 11, 30, 8, 0, 0, tzinfo=dt.UTC)


def _at(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat()


def pause(seq: int, at: float, jobs: list[str], *, answer: str | None = "success",
          status: int = 200, fault: list[str] | None = None) -> dict[str, Any]:
    results = [{"id": j, "status": answer} for j in jobs] if answer is not None else None
    return {"seq": seq, "endpoint": "pause", "received": _at(at), "time": _at(at + 0.4),
            "status": status, "fault": fault, "job_ids": jobs, "results": results}


def look(seq: int, at: float, state: str, jobs: tuple[str, ...] = (JOB,)) -> dict[str, Any]:
    return {"seq": seq, "endpoint": "status", "received": _at(at), "time": _at(at + 0.1),
            "status": 200, "fault": None, "job_ids": list(jobs),
            "results": [{"id": j, "status": state} for j in jobs]}


def test_a_repeat_without_a_look_is_a_double_pause() -> None:
    verdict = judge([pause(1, 0, [JOB]), pause(2, 5, [JOB])], [JOB], None)
    assert [(j, seq) for j, seq, _ in verdict.double] == [(JOB, 2)]


def test_a_repeat_after_a_look_that_found_the_task_running_is_excused() -> None:
    verdict = judge([pause(1, 0, [JOB]), look(2, 3, "INCRE_TRANSFER_FAILED"),
                     pause(3, 5, [JOB])], [JOB], None)
    assert verdict.double == [] and [seq for _, seq, _ in verdict.excused] == [3]


def test_a_look_that_found_the_task_paused_excuses_nothing() -> None:
    verdict = judge([pause(1, 0, [JOB]), look(2, 3, "PAUSING"), pause(3, 5, [JOB])], [JOB], None)
    assert [seq for _, seq, _ in verdict.double] == [3]


def test_a_request_refused_as_a_whole_does_not_use_up_the_look_before_it() -> None:
    """Look, send (HTTP 400 DRS.M00289 for another id in the batch: DRS touched no task), send
    again without the unknown id: the look still stands, nothing happened in DRS since."""
    refused = pause(3, 5, [JOB, OTHER], answer=None, status=400)
    refused["results"] = [{"id": OTHER, "status": "failed", "error_code": "DRS.M00289"}]
    calls = [pause(1, 0, [JOB]), look(2, 3, "INCRE_TRANSFER_FAILED"), refused,
             pause(4, 6, [JOB])]
    verdict = judge(calls, [JOB], None)
    assert verdict.double == [] and [seq for _, seq, _ in verdict.excused] == [3, 4]


def test_a_request_that_got_through_needs_a_new_look() -> None:
    """The same log, but the middle request got an answer: a look before it is used up."""
    answered = pause(3, 5, [JOB, OTHER], answer="DRS.M00304")
    calls = [pause(1, 0, [JOB]), look(2, 3, "INCRE_TRANSFER_FAILED"), answered,
             pause(4, 6, [JOB])]
    assert [seq for _, seq, _ in judge(calls, [JOB], None).double] == [4]


def test_an_inline_retry_of_an_unanswered_request_is_excused() -> None:
    dropped = pause(2, 3, [JOB, OTHER], answer="success", fault=["drop"])
    verdict = judge([pause(1, 0, [JOB]), dropped, pause(3, 4, [JOB, OTHER])], [JOB], None)
    assert [why for _, _, why in verdict.excused] == ["inline retry of an unanswered request"]


def _dropped_retried_refused(resend_at: float) -> list[dict[str, Any]]:
    """Paused (success), looked up (not PAUSING), sent again: dropped, retried inline, the
    retry refused as a whole (400 for OTHER), then JOB alone at ``resend_at``."""
    refused = pause(5, 6, [JOB, OTHER], answer=None, status=400)
    refused["results"] = [{"id": OTHER, "status": "failed", "error_code": "DRS.M00289"}]
    return [pause(1, 0, [JOB]), look(2, 3, "INCRE_TRANSFER_FAILED"),
            pause(4, 4, [JOB, OTHER], fault=["drop"]), refused, pause(6, resend_at, [JOB])]


def test_the_split_of_a_refused_inline_retry_is_excused() -> None:
    verdict = judge(_dropped_retried_refused(6.5), [JOB], None)
    assert verdict.double == []
    assert [why for _, seq, why in verdict.excused if seq == 6] == [
        "split of a refused inline retry"]


def test_a_send_long_after_the_refusal_is_a_new_pass_that_should_have_looked() -> None:
    verdict = judge(_dropped_retried_refused(20.0), [JOB], None)
    assert [seq for _, seq, _ in verdict.double] == [6]


def test_the_process_that_read_the_success_must_not_send_again() -> None:
    calls = [pause(1, 10, [JOB]), look(2, 13, "INCRE_TRANSFER_FAILED"), pause(3, 15, [JOB])]
    assert resent_in_same_process(calls, [JOB], starts=[0.0 + T0.timestamp()]) == [(JOB, 1, 3)]


def test_a_new_process_may_look_and_send_again() -> None:
    calls = [pause(1, 10, [JOB]), look(2, 13, "INCRE_TRANSFER_FAILED"), pause(3, 15, [JOB])]
    starts = [T0.timestamp(), T0.timestamp() + 12]  # killed after the success, restarted
    assert resent_in_same_process(calls, [JOB], starts) == []


def test_a_success_the_operator_never_read_does_not_count() -> None:
    """DRS paused it, but the answer was dropped: the process does not know."""
    calls = [pause(1, 10, [JOB], fault=["drop"]), look(2, 13, "INCRE_TRANSFER_FAILED"),
             pause(3, 15, [JOB])]
    assert resent_in_same_process(calls, [JOB], starts=[T0.timestamp()]) == []
