"""Property tests: arbitrary DRS answers folded through the operator's real reconcile pass
(``engine.reconciler.Reconciler``, with a scripted gateway and an in-memory Kubernetes writer).

Whatever DRS (or something pretending to be DRS) answers, a pass never raises, every job stays
in one of the four phases, the status stays bounded and serialisable, and a job is only ever
Paused on evidence: a batch-status answer of PAUSING/PAUSEING for that job, or (verification
off) a pause answer of "success" (in any letter case, as the client reads it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import random
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from drs_pause_operator.resource.reconcile import Policy, due_checks, due_pauses, sync
from drs_pause_operator.resource.status import (
    ACCEPTED,
    FAILED,
    MAX_MESSAGE,
    MAX_SHORT,
    PAUSED,
    PENDING,
    JobState,
    Problem,
    bounded,
    render,
)

from ..engine.fakes import Clock, ScriptedGateway, one_pass, spec_dict
from ..values import J1, J2, J3, J4, NOW, Pause, Task, spec_of

PHASES = {PENDING, ACCEPTED, PAUSED, FAILED}
JOB_IDS = [J1, J2, J3, J4]
PAUSED_WORDS = ("PAUSING", "PAUSEING")
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

garbage = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["", " ", "\x00", "\n", "😀", "\ud800", "PAUSING\n", "x" * 5000]),
    st.integers(600, 50_000).map(lambda n: "é\x1b" * n),  # huge
)
# Weighted towards the answers that matter (one_of picks its branches evenly).
api_status = st.one_of(
    st.just("success"),
    st.just("success"),
    st.sampled_from(["failed", "Success", "success ", "SUCCESS", "PAUSING"]),
    garbage,
)
task_state = st.one_of(
    st.sampled_from(PAUSED_WORDS),
    st.sampled_from(
        [
            "pausing",
            " PAUSING",
            "PAUSED",
            "INCRE_TRANSFER_STARTED",
            "FULL_TRANSFER_STARTED",
            "DELETED",
            "RELEASE_RESOURCE_STARTED",
            "RELEASE_RESOURCE_COMPLETE",
            "RELEASE_RESOURCE_FAILED",
            "CREATE_FAILED",
        ]
    ),
    garbage,
)
error_code = st.one_of(
    st.none(),
    garbage,
    st.sampled_from(
        [
            "DRS.M00304",
            "DRS.M05003",
            "DRS.M00289",
            "DRS.M05004",
            "DRS.M00202",
            "DRS.M01503",
            "DRS.M01504",
            "DRS.M00004",
            "APIGW.0308",
            "DRS.M00100",
        ]
    ),
)
known_id = st.sampled_from(JOB_IDS)
answer_id = st.one_of(known_id, known_id, known_id, st.text(max_size=10))
retry_after = st.one_of(
    st.none(),
    st.floats(min_value=0, max_value=4000),
    st.floats(allow_nan=True, allow_infinity=True),
)

pause_answer = st.builds(
    Pause,
    job_id=answer_id,
    api_status=api_status,
    error_code=error_code,
    error_message=garbage,
    request_id=garbage,
    transient=st.booleans(),
    retry_after=retry_after,
    attempts=st.integers(-3, 50),
)
task_answer = st.builds(
    Task, id=answer_id, status=task_state, error_code=error_code, error_message=garbage
)
# Answers keyed by job id; the answer's own id may disagree, unknown keys may appear.
pause_map = st.dictionaries(answer_id, pause_answer, max_size=6)
task_map = st.dictionaries(answer_id, task_answer, max_size=6)

step = st.fixed_dictionaries(
    {
        "advance": st.integers(0, 900),
        "after_pause": st.integers(0, 5),
        "modes": st.lists(st.sampled_from(["target", "all"]), min_size=4, max_size=4),
        "count": st.integers(1, 4),
        "retry_token": st.sampled_from([None, "a", "b"]),
        "checks": task_map,
        "pause": pause_map,
        "verify": task_map,
    }
)


def _evidence(answers: dict[str, Any]) -> set[str]:
    return {k for k, a in answers.items() if a.status in PAUSED_WORDS}


def _assert_well_formed(status: dict[str, Any]) -> None:
    text = json.dumps(status, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogates: the API server would refuse the patch
    assert status["phase"] in {"Pending", "InProgress", "Paused", "PartiallyPaused", "Failed"}
    for entry in status["jobs"]:
        assert entry["phase"] in PHASES
        assert entry["attempts"] >= 0
        assert len(entry["errorMessage"]) <= MAX_MESSAGE
        for key in ("taskStatus", "apiStatus", "errorCode", "requestId"):
            assert len(entry[key]) <= MAX_SHORT
        for key in ("taskStatus", "apiStatus", "errorCode", "requestId", "errorMessage"):
            assert entry[key] == "" or entry[key].isprintable()
    for c in status["conditions"]:
        assert len(c["message"]) <= MAX_MESSAGE


@SETTINGS
@given(
    steps=st.lists(step, min_size=1, max_size=5),
    verify_timeout=st.sampled_from([0.0, 30.0, 600.0]),
    seed=st.integers(0, 2**16),
)
def test_any_answers_fold_safely_and_pause_only_on_evidence(
    steps: list[dict[str, Any]], verify_timeout: float, seed: int
) -> None:
    policy = Policy(verify_timeout=verify_timeout)
    status: dict[str, Any] | None = None
    clock = Clock(NOW)
    evidence: set[str] = set()
    for s in steps:
        clock.advance(s["advance"])
        ids = JOB_IDS[: s["count"]]
        spec = spec_dict(*zip(ids, s["modes"], strict=False))

        def checks(asked: list[str], s=s) -> dict[str, Any]:
            evidence.update(_evidence(s["checks"]))
            return s["checks"]

        def verify(asked: list[str], s=s) -> dict[str, Any]:
            evidence.update(_evidence(s["verify"]))
            return s["verify"]

        def pause(infos: list[Any], s=s) -> dict[str, Any]:
            if verify_timeout <= 0:
                evidence.update(
                    k for k, a in s["pause"].items()
                    if (a.api_status or "").strip().lower() == "success"
                )
            return s["pause"]

        gateway = ScriptedGateway(
            checks=checks,
            pause=pause,
            verify=verify,
            on_pause=lambda s=s: clock.advance(s["after_pause"]),
        )
        before = {e["jobId"]: e for e in (status or {}).get("jobs", [])}
        result = asyncio.run(
            one_pass(
                gateway,
                spec,
                status,
                clock=clock,
                policy=policy,
                retry_token=s["retry_token"],
                seed=seed,
            )
        )
        seen = {"checks": gateway.sent("checks"), "pause": gateway.sent("pause")}
        _assert_well_formed(result.status)
        assert [e["jobId"] for e in result.status["jobs"]] == ids
        for entry in result.status["jobs"]:
            event(f"phase {entry['phase']}")
            if entry["phase"] == PAUSED:
                assert entry["jobId"] in evidence, entry
            old = before.get(entry["jobId"])
            if old and old["phase"] == PAUSED:
                assert entry["phase"] == PAUSED  # Paused is for good
        # A finished job is never sent or looked up.
        finished = {
            e["jobId"]
            for e in before.values()
            if e["phase"] in (PAUSED, FAILED)
            and e["pauseMode"] == dict(zip(ids, s["modes"], strict=False)).get(e["jobId"])
        }
        if s["retry_token"] is None or s["retry_token"] == (status or {}).get("retryFailedToken"):
            for asked in seen["checks"] + seen["pause"]:
                assert not finished & set(asked)
        # The next pass is scheduled whenever something is still open.
        active = [e for e in result.status["jobs"] if e["phase"] in (PENDING, ACCEPTED)]
        assert (result.wake is None) == (not active)
        assert result.wake is None or result.wake >= 0
        status = result.status


@SETTINGS
@given(answers=pause_map, seed=st.integers(0, 2**16))
def test_transient_answers_always_wait_at_least_retry_after(
    answers: dict[str, Any], seed: int
) -> None:
    from drs_pause_operator.resource.reconcile import apply_pause

    jobs = [JobState(job_id=j, pause_mode="target", attempts=1) for j in JOB_IDS]
    out, verify = apply_pause(jobs, answers, NOW, Policy(), random.Random(seed))
    for before, after in zip(jobs, out, strict=True):
        a = answers.get(before.job_id)
        if a is None:
            assert after == before
            continue
        assert after.attempts == 1 + max(0, a.attempts - 1)
        if (a.api_status or "").strip().lower() != "success" and a.transient:
            assert after.phase == PENDING and after.job_id not in verify
            wait = (after.next_attempt_time - NOW).total_seconds()
            assert wait > 0
            ra = a.retry_after
            if ra is not None and not math.isnan(ra) and ra <= 3600:
                assert wait >= ra - 1e-6


job_state = st.builds(
    JobState,
    job_id=st.sampled_from(JOB_IDS),
    pause_mode=st.sampled_from(["target", "all"]),
    phase=st.sampled_from(sorted(PHASES)),
    task_status=st.text(max_size=10).map(bounded),
    error_code=st.sampled_from(["", "DRS.M05003", "DRS.M00304", "X"]),
    error_message=st.text(max_size=30).map(bounded),
    attempts=st.integers(0, 5),
    accepted_time=st.one_of(st.none(), st.just(NOW)),
)
problem = st.one_of(
    st.none(),
    st.builds(
        Problem,
        st.sampled_from(["CredentialsNotFound", "EndpointNotAllowed"]),
        garbage.map(lambda t: t or ""),
    ),
)


@SETTINGS
@given(
    jobs=st.lists(job_state, max_size=6, unique_by=lambda j: j.job_id),
    problem=problem,
    generation=st.integers(1, 10),
    later=st.integers(1, 10**6),
)
def test_render_is_stable(jobs, problem, generation, later) -> None:
    first = render(None, jobs, generation, problem, NOW)
    assert render(None, jobs, generation, problem, NOW) == first
    _assert_well_formed(first)
    again = render(first, jobs, generation, problem, NOW + dt.timedelta(seconds=later))
    assert again == first  # nothing flipped: not even a transition time moves
    bumped = render(first, jobs, generation + 1, problem, NOW + dt.timedelta(seconds=later))
    assert [c["lastTransitionTime"] for c in bumped["conditions"]] == [
        c["lastTransitionTime"] for c in first["conditions"]
    ]
    assert {c["observedGeneration"] for c in bumped["conditions"]} == {generation + 1}


@SETTINGS
@given(
    jobs=st.lists(job_state, min_size=1, max_size=4, unique_by=lambda j: j.job_id),
    offset=st.integers(-100, 100),
)
def test_finished_jobs_are_never_due(jobs, offset) -> None:
    now = NOW + dt.timedelta(seconds=offset)
    spec = spec_of(*[(j.job_id, j.pause_mode) for j in jobs])
    synced, _ = sync(spec, jobs, retry_token=None, acted_token=None)
    assert synced == jobs
    finished = {j.job_id for j in jobs if j.phase in (PAUSED, FAILED)}
    assert not finished & set(due_checks(synced, now))
    assert not finished & {j.job_id for j in due_pauses(synced, now)}
