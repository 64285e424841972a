"""A job's status entry (resource/job.py): its fields, its two legs, and what a status that
someone else wrote (or a hand edit) reads as."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drs_pause_operator.resource.job import Job, Leg, jobs_from_status
from drs_pause_operator.resource.verbs import ACCEPTED, PAUSE, PAUSED, PENDING, RESUME, RESUMED

from ..values import J1, NOW, at, job


def test_a_job_round_trips_through_its_dict() -> None:
    full = job(
        J1,
        pause_mode="all",
        phase=ACCEPTED,
        task_status="INCRE_TRANSFER_STARTED",
        api_status="success",
        error_code="DRS.M01503",
        error_message="busy",
        request_id="rid",
        attempts=3,
        last_attempt_time=at(-10),
        accepted_time=at(-5),
        next_attempt_time=at(5),
    )
    data = full.to_dict()
    assert data == {
        "jobId": J1,
        "pauseMode": "all",
        "phase": ACCEPTED,
        "taskStatus": "INCRE_TRANSFER_STARTED",
        "apiStatus": "success",
        "errorCode": "DRS.M01503",
        "errorMessage": "busy",
        "requestId": "rid",
        "attempts": 3,
        "lastAttemptTime": "2026-11-28T09:59:50Z",
        "acceptedTime": "2026-11-28T09:59:55Z",
        "nextAttemptTime": "2026-11-28T10:00:05Z",
    }
    assert Job.from_dict(data) == full
    assert json.loads(json.dumps(data)) == data


def test_a_job_with_both_legs_round_trips() -> None:
    both = job(J1, phase=PAUSED, attempts=1,
               resume=Leg(phase=RESUMED, attempts=2, request_id="r2", accepted_time=NOW))
    data = both.to_dict()
    assert (data["phase"], data["attempts"]) == (PAUSED, 1)
    assert (data["resumePhase"], data["resumeAttempts"], data["resumeRequestId"]) == (
        RESUMED, 2, "r2")
    assert data["resumeAcceptedTime"] == "2026-11-28T10:00:00Z"
    assert "resumeApiStatus" not in data  # the resume does not record the API's status word
    assert Job.from_dict(data) == both


def test_a_job_dict_leaves_out_unset_times() -> None:
    data = job(J1).to_dict()
    assert not {"lastAttemptTime", "acceptedTime", "nextAttemptTime"} & set(data)
    assert data["phase"] == PENDING and data["attempts"] == 0
    assert Job.from_dict(data) == job(J1)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"jobId": J1}, job(J1, pause_mode="")),
        ({"jobId": J1, "pauseMode": "all", "phase": "Bogus"}, job(J1, pause_mode="all")),
        (
            {
                "jobId": J1,
                "pauseMode": "target",
                "phase": None,
                "attempts": None,
                "taskStatus": None,
                "nextAttemptTime": "not a time",
            },
            job(J1),
        ),
        (
            {"jobId": J1, "pauseMode": "target", "acceptedTime": "2026-11-28T10:00:00"},
            job(J1, accepted_time=NOW),
        ),  # a naive time is UTC
        ({"jobId": J1, "pauseMode": "target", "acceptedTime": 12345}, job(J1)),
        (
            {"jobId": J1, "pauseMode": "target", "resumePhase": "Bogus", "resumeAttempts": 3},
            job(J1, resume=Leg(attempts=3)),
        ),  # a resume phase nobody wrote: the resume has not begun
        (
            {"jobId": J1, "pauseMode": "target", "resumeApiStatus": "success"},
            job(J1),
        ),  # the resume leg has no API status
    ],
)
def test_a_job_from_partial_or_odd_dicts(entry: dict[str, Any], expected: Job) -> None:
    assert Job.from_dict(entry) == expected


def test_jobs_from_status_skips_junk() -> None:
    assert jobs_from_status(None) == []
    assert jobs_from_status({}) == []
    assert jobs_from_status({"jobs": None}) == []
    status = {
        "jobs": [
            "x",
            3,
            {"phase": "Paused"},
            {"jobId": ""},
            {"jobId": J1, "pauseMode": "all", "phase": "Paused", "attempts": 2},
        ]
    }
    assert jobs_from_status(status) == [job(J1, pause_mode="all", phase=PAUSED, attempts=2)]


def test_a_job_reads_and_replaces_one_leg_per_verb() -> None:
    j = job(J1, phase=PAUSED, resume=Leg(phase=PENDING))
    assert j.leg(PAUSE) is j.pause and j.leg(RESUME) is j.resume
    changed = j.with_leg(RESUME, Leg(phase=RESUMED))
    assert changed.resume == Leg(phase=RESUMED) and changed.pause == j.pause
    changed = j.with_leg(PAUSE, Leg(phase=PENDING))
    assert changed.pause == Leg(phase=PENDING) and changed.resume == j.resume


def test_the_jobs_phase_and_activity_are_its_pauses() -> None:
    assert job(J1, phase=PAUSED, resume=Leg(phase=PENDING)).phase == PAUSED
    assert not job(J1, phase=PAUSED, resume=Leg(phase=PENDING)).active
    assert job(J1, phase=ACCEPTED).active and job(J1).active and job(J1).phase == PENDING
    assert Job(J1, "target") == job(J1)  # a new job: its pause wanted, no resume begun
    assert Leg(phase=PENDING).active and Leg(phase=ACCEPTED).active
    assert not Leg().active and not Leg(phase=RESUMED).active


def test_due_is_the_next_attempt_time() -> None:
    assert Leg().due(NOW)
    assert Leg(next_attempt_time=NOW).due(NOW)
    assert Leg(next_attempt_time=at(-1)).due(NOW)
    assert not Leg(next_attempt_time=at(0.001)).due(NOW)
