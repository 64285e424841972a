"""The resume's own rules around the shared leg steps: when it begins, and what it covers (pure).

A resume begins once the pause has settled (no job Pending or Accepted) and one of these holds:

- the ``drs.cloudops.dev/resume-now`` annotation has a value not acted upon yet;
- the object is being deleted and ``spec.resume.onDelete`` is true;
- the resume time is reached: ``spec.resume.at``, or ``status.pausedTime`` + ``spec.resume.after``.

When it begins, each job this object paused itself (Paused, and not answered DRS.M00304 because
someone else had paused the task) gets a resume leg in Pending; every other job is Skipped. The
legs then go through the same steps as a pause (``resource/legs.py``); a resume is done
(Resumed) when batch-status shows the task out of PAUSING.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.spec import ResumeSpec
from drs_pause_operator.resource.verbs import (
    CATCHING_UP,
    FAILED,
    NOT_NOW,
    PAUSED,
    PENDING,
    RESUMED,
    SKIPPED,
)

# Object phases a resume adds
RESUMING, PARTIALLY_RESUMED = "Resuming", "PartiallyResumed"
# A pause with pauseMode all should not last longer (source logs may expire).
LONG_PAUSE = dt.timedelta(hours=24)

# Why a resume began (Event reasons)
BY_ANNOTATION, BY_DELETION, BY_SCHEDULE = "ResumeNow", "ResumeOnDelete", "ResumeDue"


def begun(jobs: Iterable[Job]) -> bool:
    return any(j.resume.phase for j in jobs)


def settled(jobs: Iterable[Job]) -> bool:
    return not any(j.active for j in jobs)


def paused_by_us(job: Job) -> bool:
    """Paused, and not found paused already (DRS.M00304 + PAUSING: someone else paused it).

    A job whose pause request went out but whose answer was lost (a crash) and whose task then
    showed PAUSING counts as ours: our request carried it and nothing says otherwise.
    """
    return job.phase == PAUSED and job.pause.error_code != NOT_NOW


def paused_time(
    jobs: list[Job], recorded: dt.datetime | None, now: dt.datetime
) -> dt.datetime | None:
    """When the last job settled: kept once known, cleared while a pause is under way again."""
    if not jobs or not settled(jobs):
        return None
    return recorded or now


def resume_time(spec: ResumeSpec | None, paused_at: dt.datetime | None) -> dt.datetime | None:
    """When the scheduled resume is due (None: no schedule, or the pause has not settled)."""
    if spec is None:
        return None
    if spec.at is not None:
        return spec.at.astimezone(dt.UTC)
    delta = spec.after_delta
    if delta is not None and paused_at is not None:
        return paused_at + delta
    return None


def new_token(token: str | None, acted: str | None) -> bool:
    return bool(token) and token != acted


def trigger(
    spec: ResumeSpec | None,
    jobs: list[Job],
    *,
    due_at: dt.datetime | None,
    now: dt.datetime,
    resume_now: bool,
    deleting: bool,
) -> str | None:
    """Why the resume begins (or is sent again, for resume-now) in this pass; None if not."""
    if not jobs or not settled(jobs):
        return None
    if resume_now:
        return BY_ANNOTATION
    if begun(jobs):
        return None
    if deleting and spec is not None and spec.on_delete:
        return BY_DELETION
    if due_at is not None and now >= due_at:
        return BY_SCHEDULE
    return None


def begin(jobs: list[Job], *, again: bool = False) -> list[Job]:
    """Give each job without a resume phase one; ``again`` (resume-now): Failed ones retry."""
    out = []
    for job in jobs:
        leg = job.resume
        if not leg.phase:
            if paused_by_us(job):
                leg = leg.update(phase=PENDING, next_attempt_time=None)
            else:
                why = (
                    "paused by someone else (DRS.M00304), left paused"
                    if job.phase == PAUSED
                    else "not paused by this object"
                )
                leg = leg.update(phase=SKIPPED, error_message=why)
        elif again and leg.phase == FAILED:
            leg = leg.update(
                phase=PENDING,
                error_code="",
                error_message="",
                accepted_time=None,
                next_attempt_time=None,
                transient_failures=0,
            )
        out.append(job.update(resume=leg))
    return out


def counted(jobs: Iterable[Job]) -> list[Job]:
    """The jobs a resume counts: those this object paused (not Skipped, begun)."""
    return [j for j in jobs if j.resume.phase and j.resume.phase != SKIPPED]


def object_phase(jobs: Iterable[Job]) -> str | None:
    """Resuming / Resumed / PartiallyResumed once jobs this object paused are being resumed;
    None while no resume counts (not begun, or every job Skipped: the pause phase stands)."""
    legs = [j.resume for j in counted(jobs)]
    if not legs:
        return None
    if any(leg.active for leg in legs):
        return RESUMING
    if any(leg.phase == CATCHING_UP for leg in legs):
        return CATCHING_UP
    if any(leg.phase == FAILED for leg in legs):
        return PARTIALLY_RESUMED
    return RESUMED


def finished(jobs: Iterable[Job]) -> bool:
    """The resume began and nothing is left to do or to fix (no leg in flight or Failed). A
    task catching up counts as resumed here: its catch-up does not hold a deletion."""
    jobs = list(jobs)
    return begun(jobs) and not any(
        j.resume.active or j.resume.phase == FAILED for j in jobs
    )


def long_pause(
    jobs: Iterable[Job],
    paused_at: dt.datetime | None,
    due_at: dt.datetime | None,
    now: dt.datetime,
) -> bool:
    """A job paused with pauseMode all that the schedule keeps paused longer than 24 h."""
    if due_at is None:
        return False
    start = paused_at or now
    return due_at - start > LONG_PAUSE and any(
        j.pause_mode == "all" and (paused_by_us(j) or j.active) for j in jobs
    )


def finalizer_wanted(spec: ResumeSpec | None, jobs: Iterable[Job]) -> bool:
    """Hold the object for a resume on deletion: only with onDelete, until the resume is done."""
    return spec is not None and spec.on_delete and not finished(jobs)


def summary(jobs: Iterable[Job]) -> tuple[str, list[str]]:
    """The resume's progress in words, and the error codes of its failed legs."""
    jobs = list(jobs)
    legs = [j.resume for j in jobs]
    resumed = sum(leg.phase == RESUMED for leg in legs)
    total = sum(bool(leg.phase) and leg.phase != SKIPPED for leg in legs)
    active = sum(leg.active for leg in legs)
    catching_up = sum(leg.phase == CATCHING_UP for leg in legs)
    failed = [leg for leg in legs if leg.phase == FAILED]
    skipped = sum(leg.phase == SKIPPED for leg in legs)
    text = f"{resumed} of {total} jobs resumed"
    if failed:
        text += f"; {len(failed)} failed to resume"
    if catching_up:
        text += f"; {catching_up} catching up"
    if active:
        text += f"; {active} in progress"
    if skipped:
        text += f"; {skipped} skipped"
    codes = sorted({leg.error_code for leg in failed if leg.error_code})
    return text, codes
