"""The status document (resource/status.py): summary, object phase, conditions, the resume's
part of it, and its bounds. ``render`` builds the whole document once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drs_pause_operator.resource.formats import MAX_MESSAGE, bounded
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.problem import Problem
from drs_pause_operator.resource.resuming import PARTIALLY_RESUMED, RESUMING
from drs_pause_operator.resource.status import (
    IN_PROGRESS,
    PARTIALLY_PAUSED,
    ObjectStatus,
    Summary,
    pause_conditions,
    pause_phase,
    render,
)
from drs_pause_operator.resource.verbs import (
    ACCEPTED,
    FAILED,
    PAUSED,
    PENDING,
    RESUMED,
    SKIPPED,
)

from ..values import J1, J2, J3, NOW, at, job


def rendered(
    old: dict[str, Any] | None,
    jobs: list[Job],
    generation: int = 1,
    problem: Problem | None = None,
    now: Any = NOW,
    token: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return render(old, ObjectStatus(jobs, generation, problem, retry_token=token, **extra), now)


def cond(status: dict[str, Any], ctype: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == ctype)


# --- summary and phase ----------------------------------------------------------------------


def test_summary_counts_accepted_as_pending_and_lists_failed_codes_once() -> None:
    jobs = [
        job(J1, phase=PAUSED),
        job(J2, phase=ACCEPTED),
        job(J3, phase=FAILED, error_code="DRS.M05003"),
        job("x", phase=FAILED, error_code="DRS.M05003"),
        job("y", phase=FAILED, error_code="DRS.M00202"),
        job("z", phase=FAILED),
    ]
    s = Summary.of(jobs)
    assert s.to_dict() == {"total": 6, "paused": 1, "failed": 4, "pending": 1}
    assert s.failed_codes == ("DRS.M00202", "DRS.M05003")


def test_summary_counts_the_pause_legs_only() -> None:
    jobs = [job(J1, phase=PAUSED, resume=Leg(phase=FAILED, error_code="DRS.M05004")),
            job(J2, phase=PAUSED, resume=Leg(phase=PENDING))]
    s = Summary.of(jobs)
    assert s.to_dict() == {"total": 2, "paused": 2, "failed": 0, "pending": 0}
    assert s.failed_codes == ()


@pytest.mark.parametrize(
    ("jobs", "phase"),
    [
        ([job(J1), job(J2)], PENDING),  # before any attempt
        ([job(J1, attempts=1), job(J2)], IN_PROGRESS),
        ([job(J1, phase=ACCEPTED, attempts=1)], IN_PROGRESS),
        ([job(J1, phase=PAUSED, attempts=1), job(J2)], IN_PROGRESS),  # a job was added
        ([job(J1, phase=FAILED, attempts=1), job(J2, phase=ACCEPTED, attempts=1)], IN_PROGRESS),
        ([job(J1, phase=PAUSED), job(J2, phase=PAUSED)], PAUSED),
        ([job(J1, phase=PAUSED), job(J2, phase=FAILED)], PARTIALLY_PAUSED),
        ([job(J1, phase=FAILED), job(J2, phase=FAILED)], FAILED),
    ],
)
def test_pause_phase(jobs: list[Job], phase: str) -> None:
    assert pause_phase(jobs) == phase
    assert rendered(None, jobs)["phase"] == phase  # no resume counts: the pause's phase stands


# --- conditions -----------------------------------------------------------------------------


def _conds(jobs: list[Job], problem: Problem | None = None) -> dict[str, tuple[str, ...]]:
    return {c[0]: c[1:] for c in pause_conditions(jobs, problem)}


def test_conditions_all_paused() -> None:
    c = _conds([job(J1, phase=PAUSED), job(J2, phase=PAUSED)])
    assert c["Ready"] == ("True", "Paused", "2 of 2 jobs paused")
    assert c["Reconciling"][:2] == ("False", "Done")
    assert c["Stalled"][:2] == ("False", "NotStalled")


def test_conditions_partially_paused_stalls_with_jobs_failed() -> None:
    c = _conds(
        [
            job(J1, phase=PAUSED),
            job(J2, phase=PAUSED),
            job(J3, phase=FAILED, error_code="DRS.M05003"),
        ]
    )
    assert c["Ready"] == ("False", PARTIALLY_PAUSED, "2 of 3 jobs paused; 1 failed: DRS.M05003")
    assert c["Reconciling"][:2] == ("False", "Done")
    assert c["Stalled"][:2] == ("True", "JobsFailed")
    assert "drs.cloudops.dev/retry-failed" in c["Stalled"][2]


def test_conditions_failed_while_others_pending_is_not_stalled_yet() -> None:
    c = _conds([job(J1, phase=FAILED, attempts=1), job(J2, attempts=1)])
    assert c["Reconciling"][:2] == ("True", "Pausing")
    assert c["Stalled"][0] == "False"
    assert c["Ready"][:2] == ("False", IN_PROGRESS)


def test_conditions_verifying_when_every_active_job_is_accepted() -> None:
    c = _conds([job(J1, phase=ACCEPTED, attempts=1), job(J2, phase=PAUSED)])
    assert c["Reconciling"][:2] == ("True", "Verifying")
    c = _conds([job(J1, phase=ACCEPTED, attempts=1), job(J2, attempts=1)])
    assert c["Reconciling"][:2] == ("True", "Pausing")


@pytest.mark.parametrize(
    "reason", ["CredentialsNotFound", "EndpointNotAllowed", "AuthenticationFailed"]
)
def test_conditions_with_an_operator_problem(reason: str) -> None:
    problem = Problem(reason, "create the Secret drs-credentials")
    c = _conds([job(J1), job(J2)], problem)
    assert c["Stalled"] == ("True", reason, "create the Secret drs-credentials")
    assert c["Ready"] == ("False", reason, "create the Secret drs-credentials")
    # Blocked until a person acts: not reconciling, though the jobs are still pending.
    assert c["Reconciling"] == ("False", reason, "0 of 2 jobs paused; 2 in progress")


def _first_true(conditions: list[tuple[str, ...]]) -> str | None:
    """What kstatus reads: the first of Reconciling / Stalled that is True, in list order."""
    return next(
        (c[0] for c in conditions if c[0] in ("Reconciling", "Stalled") and c[1] == "True"), None
    )


@pytest.mark.parametrize(
    "jobs",
    [
        [job(J1), job(J2)],  # before any attempt
        [job(J1, attempts=1), job(J2, phase=ACCEPTED, attempts=1)],  # rejected mid-way
        [job(J1, phase=PAUSED), job(J2, attempts=1)],
        [job(J1, phase=PAUSED), job(J2, phase=PAUSED)],  # e.g. InvalidSpec on a paused object
        [job(J1, phase=FAILED), job(J2, phase=FAILED)],
    ],
)
def test_an_operator_problem_lists_stalled_before_a_false_reconciling(jobs: list[Job]) -> None:
    conditions = pause_conditions(jobs, Problem("AuthenticationFailed", "AK/SK rejected"))
    assert [c[0] for c in conditions] == ["Ready", "Stalled", "Reconciling"]
    assert conditions[2][1] == "False"
    assert _first_true(conditions) == "Stalled"


@pytest.mark.parametrize(
    ("jobs", "first_true"),
    [
        ([job(J1), job(J2)], "Reconciling"),
        ([job(J1, phase=ACCEPTED, attempts=1), job(J2, phase=PAUSED)], "Reconciling"),
        ([job(J1, phase=FAILED, attempts=1), job(J2, attempts=1)], "Reconciling"),
        ([job(J1, phase=PAUSED), job(J2, phase=PAUSED)], None),
        ([job(J1, phase=PAUSED), job(J2, phase=FAILED)], "Stalled"),
        ([job(J1, phase=FAILED), job(J2, phase=FAILED)], "Stalled"),
    ],
)
def test_without_a_problem_the_order_stays_ready_reconciling_stalled(
    jobs: list[Job], first_true: str | None
) -> None:
    conditions = pause_conditions(jobs, None)
    assert [c[0] for c in conditions] == ["Ready", "Reconciling", "Stalled"]
    # Never both True: the order only decides nothing where one of them is True.
    assert [c[1] for c in conditions[1:]].count("True") <= 1
    assert _first_true(conditions) == first_true


def test_render_keeps_the_problem_order_and_flips_back_when_it_is_fixed() -> None:
    jobs = [job(J1, attempts=1), job(J2, attempts=1)]
    stalled = rendered(None, jobs, problem=Problem("CredentialsNotFound", "no secret"))
    assert [(c["type"], c["status"]) for c in stalled["conditions"]] == [
        ("Ready", "False"),
        ("Stalled", "True"),
        ("Reconciling", "False"),
    ]
    fixed = rendered(stalled, jobs, now=at(60))
    assert [(c["type"], c["status"]) for c in fixed["conditions"]] == [
        ("Ready", "False"),
        ("Reconciling", "True"),
        ("Stalled", "False"),
    ]
    # Both flipped, so both moved; Ready stayed False and kept its time.
    times = {c["type"]: c["lastTransitionTime"] for c in fixed["conditions"]}
    assert times == {
        "Ready": "2026-11-28T10:00:00Z",
        "Reconciling": "2026-11-28T10:01:00Z",
        "Stalled": "2026-11-28T10:01:00Z",
    }


def test_ready_is_true_only_when_all_jobs_are_paused() -> None:
    phases = [PENDING, ACCEPTED, PAUSED, FAILED]
    for a in phases:
        for b in phases:
            ready = _conds([job(J1, phase=a, attempts=1), job(J2, phase=b, attempts=1)])["Ready"]
            assert (ready[0] == "True") == (a == b == PAUSED)


def test_failed_text_lists_at_most_five_codes() -> None:
    jobs = [job(f"j{i}", phase=FAILED, error_code=f"DRS.M0000{i}") for i in range(8)]
    msg = _conds(jobs)["Ready"][2]
    assert msg.count("DRS.M") == 5


# --- render ---------------------------------------------------------------------------------


def test_render_builds_the_documented_status() -> None:
    jobs = [
        job(J1, phase=PAUSED, attempts=1),
        job(J2, phase=PAUSED, attempts=1),
        job(J3, phase=FAILED, attempts=1, error_code="DRS.M05003"),
    ]
    status = rendered(None, jobs, 2, token="tok")
    assert status["observedGeneration"] == 2
    assert status["phase"] == PARTIALLY_PAUSED
    assert status["pausedText"] == "2/3"
    assert status["summary"] == {"total": 3, "paused": 2, "failed": 1, "pending": 0}
    assert [c["type"] for c in status["conditions"]] == ["Ready", "Reconciling", "Stalled"]
    assert all(c["observedGeneration"] == 2 for c in status["conditions"])
    assert status["jobs"] == [j.to_dict() for j in jobs]
    assert status["retryFailedToken"] == "tok"
    assert "retryFailedToken" not in rendered(None, jobs, 2)
    assert not {"pausedTime", "resumeTime", "resumeNowToken", "selection"} & set(status)
    assert json.loads(json.dumps(status)) == status


def test_render_is_stable_and_keeps_transition_times() -> None:
    jobs = [job(J1, phase=ACCEPTED, attempts=1), job(J2, phase=PAUSED, attempts=1)]
    first = rendered(None, jobs)
    assert rendered(None, jobs) == first
    assert rendered(first, jobs, now=at(3600)) == first  # nothing flipped: nothing changes
    done = [j.update(pause=j.pause.update(phase=PAUSED)) for j in jobs]
    second = rendered(first, done, now=at(60))
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times == {
        "Ready": "2026-11-28T10:01:00Z",
        "Reconciling": "2026-11-28T10:01:00Z",
        "Stalled": "2026-11-28T10:00:00Z",
    }
    # A new generation updates observedGeneration everywhere, but no transition time.
    third = rendered(second, done, 2, now=at(120))
    assert third["observedGeneration"] == 2
    assert [c["observedGeneration"] for c in third["conditions"]] == [2, 2, 2]
    assert [c["lastTransitionTime"] for c in third["conditions"]] == [
        c["lastTransitionTime"] for c in second["conditions"]
    ]


def test_render_keeps_the_selection_the_selection_step_wrote() -> None:
    old = {"selection": {"matched": 2, "jobIds": [J1]}}
    assert rendered(old, [job(J1)])["selection"] == old["selection"]
    assert "selection" not in rendered({"selection": "junk"}, [job(J1)])


def test_a_kept_status_renders_as_it_was() -> None:
    """A pass that decides nothing else (an invalid spec, a selection problem) writes the
    status back as it found it, with its problem."""
    jobs = [job(J1, phase=PAUSED, attempts=1, resume=Leg(phase=FAILED, attempts=2))]
    first = rendered(None, jobs, token="tok", paused_at=at(-60), due_at=at(60),
                     resume_token="now-1")
    problem = Problem("InvalidSpec", "spec.jobs: bad")
    again = render(first, ObjectStatus.kept(first, 1, problem), at(5))
    for key in ("jobs", "retryFailedToken", "pausedTime", "resumeTime", "resumeNowToken",
                "summary", "pausedText"):
        assert again[key] == first[key], key
    assert cond(again, "Stalled")["reason"] == "InvalidSpec"


def test_status_with_500_jobs_and_hostile_text_stays_small() -> None:
    huge = "x" * 1_000_000
    jobs = [
        job(
            f"{i:08d}-0000-0000-0000-000000000000",
            phase=FAILED,
            attempts=1,
            error_code=bounded(huge),
            error_message=bounded(huge, MAX_MESSAGE),
            task_status=bounded(huge, 64),
            api_status=bounded(huge),
            request_id=bounded(huge),
        )
        for i in range(500)
    ]
    status = rendered(None, jobs, problem=Problem("X", huge))
    assert len(json.dumps(status)) < 1_000_000  # well below etcd's 1.5 MiB


def test_status_with_500_jobs_and_both_legs_full_stays_below_etcds_limit() -> None:
    huge = "x" * 1_000_000

    def full(**extra: Any) -> Leg:
        return Leg(phase=FAILED, error_code=bounded(huge), error_message=bounded(huge, MAX_MESSAGE),
                   request_id=bounded(huge), attempts=10**6, last_attempt_time=NOW,
                   accepted_time=NOW, next_attempt_time=NOW, transient_failures=10**6,
                   unanswered_lookups=10**6, **extra)

    jobs = [
        Job(f"{i:08d}-0000-0000-0000-000000000000", "target", bounded(huge, 64),
            full(api_status=bounded(huge)), full())
        for i in range(500)
    ]
    status = rendered(None, jobs, problem=Problem("X", huge), paused_at=NOW, due_at=NOW,
                      resume_token=bounded(huge), token=bounded(huge))
    # The object also holds its spec (500 job ids) and metadata: room is left for them.
    assert len(json.dumps(status)) < 1_300_000 < 1.5 * 2**20


# --- the resume's part ------------------------------------------------------------------------


def mine(job_id: str = J1, resume: Leg | None = None, **kw: Any) -> Job:
    return job(job_id, phase=PAUSED, api_status="success", resume=resume or Leg(), **kw)


def theirs(job_id: str = J2, resume: Leg | None = None) -> Job:
    return job(job_id, phase=PAUSED, api_status="failed", error_code="DRS.M00304",
               resume=resume or Leg())


def test_waiting_for_the_resume_is_ready_and_says_when() -> None:
    status = rendered(None, [mine()], paused_at=NOW, due_at=at(3600))
    assert status["phase"] == "Paused" and status["resumeTime"] == "2026-11-28T11:00:00Z"
    assert status["pausedTime"] == "2026-11-28T10:00:00Z"
    ready = cond(status, "Ready")
    assert ready["status"] == "True" and "resumes at 2026-11-28T11:00:00Z" in ready["message"]
    assert "more than 24h" not in ready["message"]
    assert cond(status, "Reconciling")["status"] == "False"
    assert "resumePhase" not in status["jobs"][0]
    warned = rendered(None, [mine(pause_mode="all")], paused_at=NOW, due_at=at(25 * 3600),
                      warn_long=True)
    assert "warning: pauseMode all for more than 24h" in cond(warned, "Ready")["message"]


def test_a_begun_resume_no_longer_says_when_it_resumes() -> None:
    status = rendered(None, [mine(resume=Leg(phase=PENDING))], paused_at=NOW, due_at=at(-1))
    assert "resumes at" not in cond(status, "Ready")["message"]
    assert status["resumeTime"] == "2026-11-28T09:59:59Z"


def test_resumed_and_partially_resumed_conditions() -> None:
    done = rendered(None, [mine(J1, Leg(phase=RESUMED)), mine(J2, Leg(phase=RESUMED)),
                           theirs(J3, Leg(phase=SKIPPED))])
    assert done["phase"] == "Resumed" and cond(done, "Ready")["status"] == "True"
    assert cond(done, "Ready")["message"] == "2 of 2 jobs resumed; 1 skipped"
    assert [j["resumePhase"] for j in done["jobs"]] == [RESUMED, RESUMED, SKIPPED]
    part = rendered(None, [mine(J1, Leg(phase=RESUMED)),
                           mine(J2, Leg(phase=FAILED, error_code="DRS.M05004")),
                           theirs(J3, Leg(phase=SKIPPED))])
    assert part["phase"] == PARTIALLY_RESUMED
    stalled = cond(part, "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "JobsFailed"
    assert "DRS.M05004" in stalled["message"] and "resume-now" in stalled["message"]
    assert cond(part, "Ready")["status"] == "False"
    going = rendered(None, [mine(J1, Leg(phase=ACCEPTED)), mine(J2, Leg(phase=RESUMED)),
                            theirs(J3, Leg(phase=SKIPPED))])
    assert going["phase"] == RESUMING
    assert (cond(going, "Reconciling")["status"], cond(going, "Reconciling")["reason"]) == (
        "True", "Resuming")
    blocked = rendered(None, [mine(resume=Leg(phase=FAILED))], deleting=True)
    assert "deletion waits for the resume" in cond(blocked, "Stalled")["message"]
    assert "skip-resume" in cond(blocked, "Stalled")["message"]


def test_a_resume_that_skips_every_job_leaves_the_pause_phase() -> None:
    status = rendered(None, [theirs(J1, Leg(phase=SKIPPED))])
    assert status["phase"] == "Paused" and cond(status, "Ready")["reason"] == "Paused"


def test_an_operator_problem_outranks_the_resume_conditions() -> None:
    problem = Problem("AuthenticationFailed", "AK/SK rejected")
    status = rendered(None, [mine(resume=Leg(phase=PENDING, attempts=1))], problem=problem)
    assert status["phase"] == RESUMING
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == [
        ("Ready", "True", "Paused"),
        ("Stalled", "True", "AuthenticationFailed"),
        ("Reconciling", "False", "AuthenticationFailed"),
    ]
