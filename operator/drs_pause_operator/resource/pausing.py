"""The pause's own rules around the shared leg steps: which jobs want a pause (pure).

The spec lists the jobs (or a selector resolved into them, ``engine/selection.py``); each gets a
pause leg. A new ``pauseMode`` sends a job again unless it is paused already, and a new value
of the ``retry-failed`` annotation sends the Failed ones again once.
"""

from __future__ import annotations

from collections.abc import Iterable

from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.spec import DrsJobPauseSpec
from drs_pause_operator.resource.verbs import FAILED, PAUSED, PENDING


def sync(
    spec: DrsJobPauseSpec,
    current: Iterable[Job],
    *,
    retry_token: str | None,
    acted_token: str | None,
) -> tuple[list[Job], str | None]:
    """Align the status jobs with the spec jobs; apply a new retry-failed annotation value.

    Returns the jobs in spec order and the retry token now acted upon.
    """
    by_id = {j.job_id: j for j in current}
    retry = bool(retry_token) and retry_token != acted_token
    jobs = []
    for want in spec.jobs:
        job = by_id.get(want.job_id)
        if job is None:
            job = Job(job_id=want.job_id, pause_mode=want.pause_mode)
        elif job.pause_mode != want.pause_mode and job.phase != PAUSED:
            # A new pause mode is a new request, unless the task is already paused.
            job = job.update(pause_mode=want.pause_mode, pause=_anew(job.pause))
        elif retry and job.phase == FAILED:
            job = job.update(pause=_anew(job.pause))
        jobs.append(job)
    return jobs, retry_token or acted_token


def _anew(leg: Leg) -> Leg:
    """Sent anew: a new request, with its own backoff (the attempts stay, for the precheck)."""
    return leg.update(
        phase=PENDING,
        api_status="",
        error_code="",
        error_message="",
        accepted_time=None,
        next_attempt_time=None,
        transient_failures=0,
    )


def hold_new_pauses(jobs: list[Job], resume_begun: bool) -> list[Job]:
    """Once a resume has begun, a job never sent (added to spec since) is not paused any more."""
    if not resume_begun:
        return jobs
    return [
        j.update(
            pause=j.pause.update(
                phase=FAILED,
                next_attempt_time=None,
                error_message="not paused: this object's resume had begun",
            )
        )
        if j.phase == PENDING and j.pause.attempts == 0
        else j
        for j in jobs
    ]
