"""Plain values for unit tests: job ids, a fixed clock, job entries, stand-ins for DRS answers
with the shapes of ``PauseOutcome`` and ``JobStatus``, and what any written status must be."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from drs_pause_operator.resource.formats import MAX_MESSAGE, MAX_SHORT
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.spec import DrsJobPauseSpec, parse_spec
from drs_pause_operator.resource.verbs import PAUSE, PAUSED, PENDING, RESUME, Verb

NOW = dt.datetime(2026, 11, 28, 10, 0, 0, tzinfo=dt.UTC)

J1 = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
J2 = "11111111-2222-3333-4444-555555555555"
J3 = "abcdefgh-ijkl-mnop-qrst-uvwxyz012345"
J4 = "ZZZZZZZZ-0000-aaaa-9999-bbbbbbbbbbbb"


def at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Pause:
    """A SendAnswer (the shape of drs.outcomes.PauseOutcome), for a pause or a resume."""

    job_id: str
    api_status: str | None = "success"
    error_code: str | None = None
    error_message: str | None = None
    request_id: str | None = "req-pause"
    transient: bool = False
    retry_after: float | None = None
    attempts: int = 1

    @property
    def succeeded(self) -> bool:
        return (self.api_status or "").strip().lower() == "success"


@dataclass(frozen=True)
class Task:
    """A TaskAnswer (the shape of drs.models.JobStatus)."""

    id: str
    status: str | None = "PAUSING"
    error_code: str | None = None
    error_message: str | None = None


def spec_of(*jobs: str | tuple[str, str], **extra: Any) -> DrsJobPauseSpec:
    items = [
        {"jobId": j, "pauseMode": "target"}
        if isinstance(j, str)
        else {"jobId": j[0], "pauseMode": j[1]}
        for j in jobs
    ]
    return parse_spec({"projectId": "054ba152d480d55b2f5dc0069e7ddef0", "jobs": items, **extra})


def job(job_id: str = J1, **changes: Any) -> Job:
    """A job entry; ``changes`` are its pause leg's fields, plus ``pause_mode``,
    ``task_status`` and ``resume`` (a Leg)."""
    mode = changes.pop("pause_mode", "target")
    task = changes.pop("task_status", "")
    resume = changes.pop("resume", Leg())
    return Job(job_id, mode, task, Leg(phase=PENDING).update(**changes), resume)


def on(verb: Verb, job_id: str = J1, **changes: Any) -> Job:
    """A job whose ``verb`` leg has these fields (Pending unless a phase is given), plus
    ``pause_mode`` and ``task_status``. A resume follows a pause: its job's pause leg is Paused."""
    if verb is PAUSE:
        return job(job_id, **changes)
    mode = changes.pop("pause_mode", "target")
    task = changes.pop("task_status", "")
    paused = Leg(phase=PAUSED, api_status="success", attempts=1)
    return Job(job_id, mode, task, paused, Leg(phase=PENDING).update(**changes))


OBJECT_PHASES = {"Pending", "InProgress", "Paused", "PartiallyPaused", "Failed", "Resuming",
                 "CatchingUp", "Planned",
                 "Resumed", "PartiallyResumed"}


def assert_well_formed(status: dict[str, Any]) -> None:
    """What any status the operator writes must be: serialisable, bounded, known phases.

    (Plain asserts outside a test module: each names what it found.)"""
    text = json.dumps(status, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogates: the API server would refuse the patch
    assert status["phase"] in OBJECT_PHASES, status["phase"]
    for entry in status["jobs"]:
        assert entry["phase"] in PAUSE.phases, entry
        assert entry.get("resumePhase", RESUME.phases[0]) in RESUME.phases, entry
        assert entry["attempts"] >= 0, entry
        assert len(entry["errorMessage"]) <= MAX_MESSAGE, entry
        for key in ("taskStatus", "apiStatus", "errorCode", "requestId"):
            assert len(entry[key]) <= MAX_SHORT, (key, entry)
        for key in ("taskStatus", "apiStatus", "errorCode", "requestId", "errorMessage"):
            assert entry[key] == "" or entry[key].isprintable(), (key, entry)
    for c in status["conditions"]:
        assert len(c["message"]) <= MAX_MESSAGE, c
