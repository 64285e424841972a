"""The sent-request checks (sent.py) on call logs written by hand: what each one must flag and
what it must let pass. (No cluster: these are the checks' own tests.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .sent import MAX_INLINE_DELAY, inline_seconds, judge, resent_in_same_process

JOB, OTHER = "job-a", "job-b"
T0 = dt.datetime(2026, 11, 30, 8, 0, 0, tzinfo=dt.UTC)


def _at(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat()


def _ts(seconds: float) -> float:
    return (T0 + dt.timedelta(seconds=seconds)).timestamp()


def pause(seq: int, at: float, jobs: list[str], *, answer: str | None = "success",
          status: int | None = 200, fault: list[str] | None = None,
          error_code: str | None = None, took: float = 0.4) -> dict[str, Any]:
    results = None
    if answer is not None:
        results = [{"id": j, "status": answer} for j in jobs]
        if error_code is not None:
            results = [{"id": j, "status": answer, "error_code": error_code} for j in jobs]
    return {"seq": seq, "endpoint": "pause", "received": _at(at), "time": _at(at + took),
            "status": status, "fault": fault, "job_ids": jobs, "results": results}


def look(seq: int, at: float, state: str, jobs: tuple[str, ...] = (JOB,), *,
         status: int | None = 200, fault: list[str] | None = None,
         answered: list[str] | None = None) -> dict[str, Any]:
    """A batch-status call; ``answered``: the ids its body really carried (``answered_ids``,
    logged after a missing_results fault)."""
    call = {"seq": seq, "endpoint": "status", "received": _at(at), "time": _at(at + 0.1),
            "status": status, "fault": fault, "job_ids": list(jobs),
            "results": [{"id": j, "status": state} for j in jobs]}
    if answered is not None:
        call["answered_ids"] = answered
    return call


class History:
    """Status versions holding JOB, as StatusHistory.job_phases gives them: (second, phase,
    attempts)."""

    def __init__(self, *versions: tuple[float, str, int]) -> None:
        self.versions = versions

    def job_phases(self, job_id: str) -> list[tuple[float, str, int]]:
        return [(_ts(at), phase, attempts) for at, phase, attempts in self.versions]


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


# -- a look counts only when its answer about the job reached the process that sends -------------

RUNNING = "INCRE_TRANSFER_FAILED"


def _resent_after(the_look: dict[str, Any]) -> list[dict[str, Any]]:
    """Paused, the answer dropped; a pass later (no inline retry), the look, then the send."""
    return [pause(1, 0, [JOB], fault=["drop"], status=None), the_look, pause(3, 125, [JOB])]


def test_a_look_answered_with_an_error_status_is_no_look() -> None:
    """DRS processed the batch-status, then the answer was replaced by a 502: the log holds
    the results, the operator never read them."""
    the_look = look(2, 120, RUNNING, status=502, fault=["http_error"])
    assert [seq for _, seq, _ in judge(_resent_after(the_look), [JOB], None).double] == [3]


def test_a_look_whose_answer_was_unreadable_is_no_look() -> None:
    the_look = look(2, 120, RUNNING, fault=["malformed"])
    assert [seq for _, seq, _ in judge(_resent_after(the_look), [JOB], None).double] == [3]


def test_a_look_whose_answer_about_the_job_was_stripped_is_no_look() -> None:
    """missing_results strips results after the call was logged: only ``answered_ids`` tells
    what the body carried, and without it nothing counts."""
    for answered in (None, [OTHER]):
        the_look = look(2, 120, RUNNING, (JOB, OTHER), fault=["missing_results"],
                        answered=answered)
        verdict = judge(_resent_after(the_look), [JOB], None)
        assert [seq for _, seq, _ in verdict.double] == [3], answered


def test_a_look_that_carried_the_job_despite_missing_results_counts() -> None:
    the_look = look(2, 120, RUNNING, (JOB, OTHER), fault=["missing_results"], answered=[JOB])
    verdict = judge(_resent_after(the_look), [JOB], None)
    assert verdict.double == [] and [seq for _, seq, _ in verdict.excused] == [3]


def test_a_look_of_a_killed_process_does_not_excuse_the_next_process() -> None:
    """Process 1 looks and dies; process 2 sends without a look of its own."""
    calls = [pause(1, 0, [JOB], fault=["drop"]), look(2, 3, RUNNING), pause(3, 8, [JOB])]
    verdict = judge(calls, [JOB], None, starts=[_ts(-10), _ts(5)])
    assert [seq for _, seq, _ in verdict.double] == [3]


def test_a_look_made_while_the_previous_request_was_held_saw_nothing_of_it() -> None:
    """The look arrived before DRS answered the previous request (held 6 s, then paused): it
    cannot show what that request did."""
    calls = [pause(1, 0, [JOB], took=6.0), look(2, 3, RUNNING), pause(3, 8, [JOB])]
    assert [seq for _, seq, _ in judge(calls, [JOB], None).double] == [3]


# -- an inline retry follows its failed answer within seconds, as often as the client retries ------


def test_sends_minutes_after_a_503_are_no_inline_retries() -> None:
    calls = [pause(1, 0, [JOB]), look(2, 3, RUNNING), pause(3, 5, [JOB], status=503,
                                                             answer=None)]
    calls += [pause(3 + n, 5 + 600 * n, [JOB], status=503, answer=None) for n in (1, 2, 3)]
    verdict = judge(calls, [JOB], None)
    assert [seq for _, seq, _ in verdict.double] == [4, 5, 6]


def test_an_inline_retry_comes_within_the_clients_longest_wait() -> None:
    """The longest backoff, a slot, the rate limit: a second later it is a new pass."""
    limit = inline_seconds(2.0)
    assert limit > MAX_INLINE_DELAY
    for after, excused in ((limit - 1, True), (limit + 1, False)):
        calls = [pause(1, 0, [JOB]), look(2, 3, RUNNING),
                 pause(3, 5, [JOB], status=503, answer=None), pause(4, 5.4 + after, [JOB])]
        verdict = judge(calls, [JOB], None, request_timeout=2.0)
        assert (4 in [seq for _, seq, _ in verdict.excused]) is excused, after


def test_more_inline_retries_than_the_client_makes_are_double_pauses() -> None:
    """The client retries a request twice (three attempts); a fourth send of the same jobs
    seconds later is a new pass, which looks first."""
    calls = [pause(1, 0, [JOB]), look(2, 3, RUNNING)]
    calls += [pause(3 + n, 5 + 2 * n, [JOB], status=503, answer=None) for n in range(4)]
    verdict = judge(calls, [JOB], None)
    assert [seq for _, seq, _ in verdict.excused] == [3, 4, 5]
    assert [seq for _, seq, _ in verdict.double] == [6]


def test_an_inline_retry_comes_from_the_process_that_sent_the_request() -> None:
    calls = [pause(1, 0, [JOB]), look(2, 3, RUNNING),
             pause(3, 5, [JOB], status=503, answer=None), pause(4, 7, [JOB])]
    verdict = judge(calls, [JOB], None, starts=[_ts(-10), _ts(6)])
    assert [seq for _, seq, _ in verdict.double] == [4]


# -- every excused repeat is backed by an answer the sending process did not have ----------------


def test_a_repeat_after_a_success_its_process_read_is_backed_by_nothing() -> None:
    calls = [pause(1, 0, [JOB]), look(2, 3, RUNNING), pause(3, 5, [JOB])]
    verdict = judge(calls, [JOB], None)
    assert verdict.opportunities == {JOB: 0}
    assert verdict.over_budget() == {JOB: (1, 0)}


def test_lost_answers_transient_answers_and_kills_are_opportunities() -> None:
    """Success dropped after processing (1), DRS.M01504 (2), then the process is killed after
    a success it read (3): three repeats, each backed."""
    calls = [pause(1, 0, [JOB], fault=["drop"], status=None), look(2, 3, RUNNING),
             pause(3, 5, [JOB], answer="failed", error_code="DRS.M01504"),
             look(4, 9, RUNNING), pause(5, 11, [JOB]), look(6, 30, RUNNING), pause(7, 32, [JOB])]
    verdict = judge(calls, [JOB], None, starts=[_ts(-10), _ts(20)])
    assert verdict.double == [] and len(verdict.excused) == 3
    assert verdict.opportunities == {JOB: 3} and verdict.over_budget() == {}


def test_a_terminal_answer_the_process_read_is_no_opportunity() -> None:
    calls = [pause(1, 0, [JOB], fault=["drop"], status=None), look(2, 3, RUNNING),
             pause(3, 5, [JOB], answer="failed", error_code="DRS.M05004"),
             look(4, 9, RUNNING), pause(5, 11, [JOB])]
    verdict = judge(calls, [JOB], None)
    assert verdict.opportunities == {JOB: 1} and verdict.over_budget() == {JOB: (2, 1)}


# -- the status history: what the operator had written before it sent ---------------------------


def test_a_repeat_the_status_never_showed_answered_is_excused_by_its_look() -> None:
    """Written ahead (Pending, attempt 1), paused, killed before the answer was written; the
    next process writes attempt 2 ahead, looks, sends: the answer shows only after that."""
    history = History((-0.5, "Pending", 1), (4.6, "Pending", 2), (6.0, "Accepted", 2),
                      (7.0, "Paused", 2))
    calls = [pause(1, 0, [JOB]), look(2, 4, RUNNING), pause(3, 5, [JOB])]
    verdict = judge(calls, [JOB], history, starts=[_ts(-10), _ts(2)])
    assert verdict.double == [] and verdict.regressions == []
    assert [why for _, _, why in verdict.excused] == ["looked up first, not paused"]


def test_a_repeat_after_the_status_showed_the_job_answered_is_a_double_pause() -> None:
    """The answer was written (Accepted) before the kill: the look of the next process (DRS
    not PAUSING yet) does not excuse sending it again."""
    history = History((-0.5, "Pending", 1), (1.0, "Accepted", 1), (7.0, "Paused", 1))
    calls = [pause(1, 0, [JOB]), look(2, 4, RUNNING), pause(3, 5, [JOB])]
    verdict = judge(calls, [JOB], history, starts=[_ts(-10), _ts(2)])
    assert [(seq, why) for _, seq, why in verdict.double] == [
        (3, "sent after the status showed it answered")]


def test_an_answered_job_written_back_to_pending_is_a_regression() -> None:
    history = History((-0.5, "Pending", 1), (1.0, "Accepted", 1), (4.0, "Pending", 2))
    verdict = judge([pause(1, 0, [JOB])], [JOB], history)
    assert verdict.regressions == [(JOB, "Accepted -> Pending")]
