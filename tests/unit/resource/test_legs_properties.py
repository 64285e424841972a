"""Property tests of the leg steps (resource/legs.py) for both verbs: arbitrary DRS answers
fold into legs safely, a leg only gets done on evidence, settled legs never move and are never
due, and one verb's steps never touch the other verb's leg."""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drs_pause_operator.resource.formats import bounded
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.legs import due_checks, due_sends, fold_answers, fold_status
from drs_pause_operator.resource.pausing import sync
from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.verbs import (
    ACCEPTED,
    FAILED,
    NOT_NOW,
    PAUSE,
    PENDING,
    RESUME,
    Verb,
)

from ..strategies import JOB_IDS, jobs, send_map, task_map
from ..values import NOW, on, spec_of

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FEWER = settings(SETTINGS, max_examples=100)

pytestmark = pytest.mark.parametrize("verb", [PAUSE, RESUME], ids=["pause", "resume"])


def other(verb: Verb) -> Verb:
    return RESUME if verb is PAUSE else PAUSE


@SETTINGS
@given(answers=send_map, seed=st.integers(0, 2**16))
def test_transient_answers_always_wait_at_least_retry_after(
    verb: Verb, answers: dict[str, Any], seed: int
) -> None:
    before_all = [on(verb, j, attempts=1) for j in JOB_IDS]
    out, verify = fold_answers(verb, before_all, answers, NOW, Policy(), random.Random(seed))
    for before, after in zip(before_all, out, strict=True):
        a = answers.get(before.job_id)
        if a is None:
            assert after == before
            continue
        assert after.leg(verb).attempts == 1 + max(0, a.attempts - 1)
        if (a.api_status or "").strip().lower() != "success" and a.transient:
            assert after.leg(verb).phase == PENDING
            # Looked up at once only when DRS also said "not now" (batch-status decides).
            assert (after.job_id in verify) == (a.error_code == NOT_NOW)
            next_at = after.leg(verb).next_attempt_time
            assert next_at is not None
            wait = (next_at - NOW).total_seconds()
            assert wait > 0
            ra = a.retry_after
            if ra is not None and not math.isnan(ra) and ra <= 3600:
                assert wait >= ra - 1e-6


@FEWER
@given(answers=send_map, current=jobs, verify_timeout=st.sampled_from([0.0, 600.0]))
def test_a_send_answer_moves_only_pending_legs_and_done_only_when_trusted(
    verb: Verb, answers: dict[str, Any], current: list[Job], verify_timeout: float
) -> None:
    out, verify = fold_answers(verb, current, answers, NOW, Policy(verify_timeout=verify_timeout))
    assert set(verify) <= {j.job_id for j in current}
    for before, after in zip(current, out, strict=True):
        assert after.leg(other(verb)) == before.leg(other(verb))
        assert (after.job_id, after.pause_mode, after.task_status) == (
            before.job_id, before.pause_mode, before.task_status)
        if before.leg(verb).phase != PENDING or before.job_id not in answers:
            assert after == before
            continue
        success = (answers[before.job_id].api_status or "").strip().lower() == "success"
        phase = after.leg(verb).phase
        assert phase in (PENDING, FAILED, ACCEPTED, verb.done)
        assert (phase == verb.done) == (success and verify_timeout == 0)
        assert (phase == ACCEPTED) == (success and verify_timeout > 0)


@FEWER
@given(answers=task_map, current=jobs, offset=st.integers(-100, 100))
def test_a_status_answer_moves_only_active_legs_and_done_only_on_evidence(
    verb: Verb, answers: dict[str, Any], current: list[Job], offset: int
) -> None:
    now = NOW + dt.timedelta(seconds=offset)
    out = fold_status(verb, current, answers, now)
    for before, after in zip(current, out, strict=True):
        assert after.leg(other(verb)) == before.leg(other(verb))
        was, now_phase = before.leg(verb).phase, after.leg(verb).phase
        if not before.leg(verb).active:
            assert after.leg(verb) == before.leg(verb)
            continue
        allowed = {PENDING: {PENDING, verb.done}, ACCEPTED: {ACCEPTED, verb.done, FAILED}}[was]
        assert now_phase in allowed
        answer = answers.get(before.job_id)
        if now_phase == verb.done:
            assert answer is not None and verb.reached(bounded(answer.status or "", 64))
        if answer is None:
            assert after.task_status == before.task_status


@SETTINGS
@given(current=jobs.filter(bool), offset=st.integers(-100, 100))
def test_settled_legs_are_never_due(verb: Verb, current: list[Job], offset: int) -> None:
    now = NOW + dt.timedelta(seconds=offset)
    spec = spec_of(*[(j.job_id, j.pause_mode) for j in current])
    synced, _ = sync(spec, current, retry_token=None, acted_token=None)
    assert synced == current
    settled = {j.job_id for j in synced if not j.leg(verb).active}
    assert not settled & set(due_checks(verb, synced, now))
    assert not settled & set(due_sends(verb, synced, now))
