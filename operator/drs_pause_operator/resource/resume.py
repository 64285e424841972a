"""Pauses that end: spec.resume, as pure functions of (spec, status, DRS answers, now).

A resume runs the pause's loop in the other direction. It begins once the pause has settled (no
job Pending or Accepted) and one of these holds:

- the ``drs.cloudops.dev/resume-now`` annotation has a value not acted upon yet;
- the object is being deleted and ``spec.resume.onDelete`` is true;
- the resume time is reached: ``spec.resume.at``, or ``status.pausedTime`` + ``spec.resume.after``.

When it begins, each job this object paused itself (Paused, and not answered DRS.M00304 because
someone else had paused the task) gets resumePhase Pending; every other job is Skipped. Then,
as for a pause:

    due_checks -> [batch-status] -> apply_status
      -> due_resumes -> mark_attempts -> [write status] -> [batch-retry-task] -> apply_resume
      -> [batch-status] -> apply_status / settle_not_resumable -> expire

A resume is done (Resumed) when batch-status shows the task out of PAUSING/PAUSEING. The attempt
is written to status before the request leaves; a Pending job with attempts is looked up with
batch-status before it is sent again, so a crash never sends a resume twice without a look.

Per-job resume fields live beside the pause fields in the same ``status.jobs`` entry; this
module reads and writes only its own keys (``resume*``), and :func:`decorate` adds them and the
object-level fields to the status ``status.render`` made.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from drs_pause_operator.resource.reconcile import (
    GONE_STATES,
    LOOK_AGAIN,
    NOT_FOUND_CODES,
    NOT_PAUSABLE,
    PAUSED_STATES,
    POLL_MAX,
    POLL_MIN,
    PauseAnswer,
    Policy,
    TaskAnswer,
    retry_at,
    unseen_verdict,
)
from drs_pause_operator.resource.spec import (
    RESUME_NOW_ANNOTATION,
    SKIP_RESUME_ANNOTATION,
    ResumeSpec,
)
from drs_pause_operator.resource.status import (
    FAILED,
    MAX_MESSAGE,
    PAUSED,
    PENDING,
    JobState,
    Problem,
    bounded,
    fmt_time,
    merge_conditions,
    parse_time,
)

# Per-job resume phases ("" = no resume has begun for the job)
R_PENDING, R_ACCEPTED, RESUMED, R_FAILED, SKIPPED = (
    "Pending",
    "Accepted",
    "Resumed",
    "Failed",
    "Skipped",
)
RESUME_PHASES = (R_PENDING, R_ACCEPTED, RESUMED, R_FAILED, SKIPPED)
# Object phases a resume adds
RESUMING, PARTIALLY_RESUMED = "Resuming", "PartiallyResumed"
# A pause with pauseMode all should not last longer (source logs may expire).
LONG_PAUSE = dt.timedelta(hours=24)
LONG_PAUSE_TEXT = "warning: pauseMode all for more than 24h"
DELETION_TEXT = "deletion waits for the resume"

# Why a resume began (Event reasons)
BY_ANNOTATION, BY_DELETION, BY_SCHEDULE = "ResumeNow", "ResumeOnDelete", "ResumeDue"


@dataclass(frozen=True)
class ResumeState:
    """One job's resume fields in status.jobs; every field survives a restart."""

    job_id: str
    phase: str = ""
    error_code: str = ""
    error_message: str = ""
    request_id: str = ""
    attempts: int = 0
    last_attempt_time: dt.datetime | None = None
    accepted_time: dt.datetime | None = None
    next_attempt_time: dt.datetime | None = None
    transient_failures: int = 0  # the retry backoff's step, as for the pause (status.py)
    unanswered_lookups: int = 0  # overdue lookups without an answer, as for the pause

    @property
    def active(self) -> bool:
        return self.phase in (R_PENDING, R_ACCEPTED)

    def update(self, **changes: Any) -> ResumeState:
        return replace(self, **changes)

    def fields(self) -> dict[str, Any]:
        """The keys this state adds to its job's status entry (none before a resume began)."""
        if not self.phase:
            return {}
        data: dict[str, Any] = {
            "resumePhase": self.phase,
            "resumeErrorCode": self.error_code,
            "resumeErrorMessage": self.error_message,
            "resumeRequestId": self.request_id,
            "resumeAttempts": self.attempts,
        }
        if self.transient_failures:
            data["resumeTransientFailures"] = self.transient_failures
        if self.unanswered_lookups:
            data["resumeUnansweredLookups"] = self.unanswered_lookups
        for key, value in (
            ("resumeLastAttemptTime", self.last_attempt_time),
            ("resumeAcceptedTime", self.accepted_time),
            ("resumeNextAttemptTime", self.next_attempt_time),
        ):
            if value is not None:
                data[key] = fmt_time(value)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResumeState:
        phase = data.get("resumePhase")
        return cls(
            job_id=str(data.get("jobId", "")),
            phase=phase if phase in RESUME_PHASES else "",
            error_code=str(data.get("resumeErrorCode") or ""),
            error_message=str(data.get("resumeErrorMessage") or ""),
            request_id=str(data.get("resumeRequestId") or ""),
            attempts=int(data.get("resumeAttempts") or 0),
            last_attempt_time=parse_time(data.get("resumeLastAttemptTime")),
            accepted_time=parse_time(data.get("resumeAcceptedTime")),
            next_attempt_time=parse_time(data.get("resumeNextAttemptTime")),
            transient_failures=int(data.get("resumeTransientFailures") or 0),
            unanswered_lookups=int(data.get("resumeUnansweredLookups") or 0),
        )


def states_from_status(
    status: Mapping[str, Any] | None, jobs: Iterable[JobState]
) -> list[ResumeState]:
    """The resume state of each job, in the jobs' order (jobs removed from spec are dropped)."""
    entries = {
        e.get("jobId"): e for e in (status or {}).get("jobs") or [] if isinstance(e, dict)
    }
    return [ResumeState.from_dict(entries.get(j.job_id) or {"jobId": j.job_id}) for j in jobs]


def begun(states: Iterable[ResumeState]) -> bool:
    return any(s.phase for s in states)


def settled(jobs: Iterable[JobState]) -> bool:
    return not any(j.active for j in jobs)


def paused_by_us(job: JobState) -> bool:
    """Paused, and not found paused already (DRS.M00304 + PAUSING: someone else paused it).

    A job whose pause request went out but whose answer was lost (a crash) and whose task then
    showed PAUSING counts as ours: our request carried it and nothing says otherwise.
    """
    return job.phase == PAUSED and job.error_code != NOT_PAUSABLE


# --- when ---------------------------------------------------------------------------------


def paused_time(
    jobs: list[JobState], recorded: dt.datetime | None, now: dt.datetime
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
    jobs: list[JobState],
    states: list[ResumeState],
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
    if begun(states):
        return None
    if deleting and spec is not None and spec.on_delete:
        return BY_DELETION
    if due_at is not None and now >= due_at:
        return BY_SCHEDULE
    return None


def begin(
    jobs: list[JobState], states: list[ResumeState], *, again: bool = False
) -> list[ResumeState]:
    """Give each job without a resume phase one; ``again`` (resume-now): Failed ones retry."""
    out = []
    for job, state in zip(jobs, states, strict=True):
        if not state.phase:
            if paused_by_us(job):
                state = state.update(phase=R_PENDING, next_attempt_time=None)
            else:
                why = (
                    "paused by someone else (DRS.M00304), left paused"
                    if job.phase == PAUSED
                    else "not paused by this object"
                )
                state = state.update(phase=SKIPPED, error_message=why)
        elif again and state.phase == R_FAILED:
            state = state.update(
                phase=R_PENDING,
                error_code="",
                error_message="",
                accepted_time=None,
                next_attempt_time=None,
                transient_failures=0,
            )
        out.append(state)
    return out


def hold_new_pauses(jobs: list[JobState], states: list[ResumeState]) -> list[JobState]:
    """Once a resume has begun, a job never sent (added to spec since) is not paused any more."""
    if not begun(states):
        return jobs
    return [
        j.update(
            phase=FAILED,
            next_attempt_time=None,
            error_message="not paused: this object's resume had begun",
        )
        if j.phase == PENDING and j.attempts == 0
        else j
        for j in jobs
    ]


# --- the resume loop ------------------------------------------------------------------------


def _due(state: ResumeState, now: dt.datetime) -> bool:
    return state.next_attempt_time is None or state.next_attempt_time <= now


def due_checks(states: Iterable[ResumeState], now: dt.datetime) -> list[str]:
    """Accepted resumes whose poll is due, and Pending ones sent before (a crash or a lost
    answer may have resumed the task: a task out of PAUSING is not sent again)."""
    return [
        s.job_id
        for s in states
        if _due(s, now) and (s.phase == R_ACCEPTED or (s.phase == R_PENDING and s.attempts > 0))
    ]


def due_resumes(states: Iterable[ResumeState], now: dt.datetime) -> list[str]:
    return [s.job_id for s in states if s.phase == R_PENDING and _due(s, now)]


def mark_attempts(
    states: list[ResumeState], ids: Collection[str], now: dt.datetime
) -> list[ResumeState]:
    """Record the attempt before the request leaves (write-ahead)."""
    return [
        s.update(attempts=s.attempts + 1, last_attempt_time=now) if s.job_id in ids else s
        for s in states
    ]


def _poll_interval(state: ResumeState, now: dt.datetime) -> dt.timedelta:
    waited = (now - (state.accepted_time or now)).total_seconds()
    return dt.timedelta(seconds=min(POLL_MAX, max(POLL_MIN, waited / 4)))


def apply_status(
    states: list[ResumeState], answers: Mapping[str, TaskAnswer], now: dt.datetime
) -> list[ResumeState]:
    """Fold batch-status answers in: a task seen out of PAUSING is Resumed."""
    out = []
    for state in states:
        answer = answers.get(state.job_id)
        if answer is None and state.phase == R_ACCEPTED and _due(state, now):
            out.append(state.update(next_attempt_time=now + _poll_interval(state, now)))
            continue
        if answer is None or not state.active:
            out.append(state)
            continue
        task = bounded(answer.status or "", 64)
        if task and task not in PAUSED_STATES and task not in GONE_STATES:
            out.append(state.update(phase=RESUMED, next_attempt_time=None))
        elif state.phase == R_PENDING:
            out.append(state)  # still paused (or unknown): send it
        elif answer.error_code in NOT_FOUND_CODES or task in GONE_STATES:
            out.append(
                state.update(
                    phase=R_FAILED,
                    next_attempt_time=None,
                    error_code=bounded(answer.error_code or ""),
                    error_message=bounded(
                        f"task {'is ' + task if task else 'not found'} while resuming"
                        + (f": {answer.error_message}" if answer.error_message else ""),
                        MAX_MESSAGE,
                    ),
                )
            )
        else:
            out.append(state.update(next_attempt_time=now + _poll_interval(state, now)))
    return out


def task_states(answers: Mapping[str, TaskAnswer]) -> dict[str, str]:
    """The task state each answer shows (to refresh the jobs' taskStatus)."""
    return {i: bounded(a.status, 64) for i, a in answers.items() if a.status}


def apply_resume(
    states: list[ResumeState],
    outcomes: Mapping[str, PauseAnswer],
    now: dt.datetime,
    policy: Policy,
    rng: random.Random | None = None,
) -> tuple[list[ResumeState], list[str]]:
    """Fold batch-retry-task answers in; also return the ids to look up with batch-status now.

    To look up: every accepted job (when verification is on), and every job answered
    DRS.M00304 (not resumable now): if its task is out of PAUSING already, it is Resumed.
    """
    out, verify = [], []
    for state in states:
        answer = outcomes.get(state.job_id)
        if answer is None or state.phase != R_PENDING:
            out.append(state)
            continue
        common = {
            "error_code": bounded(answer.error_code or ""),
            "error_message": bounded(answer.error_message or "", MAX_MESSAGE),
            "request_id": bounded(answer.request_id or "") or state.request_id,
            "attempts": state.attempts + max(0, answer.attempts - 1),
        }
        if (answer.api_status or "").strip().lower() == "success":
            if policy.verify_timeout <= 0:
                out.append(
                    state.update(phase=RESUMED, accepted_time=now, next_attempt_time=None, **common)
                )
            else:
                out.append(
                    state.update(
                        phase=R_ACCEPTED, accepted_time=now, next_attempt_time=now, **common
                    )
                )
                verify.append(state.job_id)
        elif answer.transient or answer.error_code == NOT_PAUSABLE:
            failures = state.transient_failures + (
                max(1, answer.attempts) if answer.transient else 1
            )
            retry_after = answer.retry_after if answer.transient else None
            at = retry_at(failures, retry_after, now, policy, rng)
            out.append(state.update(next_attempt_time=at, transient_failures=failures, **common))
            if answer.error_code == NOT_PAUSABLE:
                verify.append(state.job_id)
        else:
            out.append(state.update(phase=R_FAILED, next_attempt_time=None, **common))
    return out, verify


def settle_not_resumable(
    states: list[ResumeState], answers: Mapping[str, TaskAnswer], ids: Iterable[str]
) -> list[ResumeState]:
    """Jobs answered DRS.M00304 whose task batch-status still shows PAUSING: Failed.

    (Out of PAUSING, :func:`apply_status` made them Resumed already.)
    """
    wanted = set(ids)
    out = []
    for state in states:
        answer = answers.get(state.job_id)
        if (
            state.job_id in wanted
            and state.phase == R_PENDING
            and state.error_code == NOT_PAUSABLE
            and answer is not None
        ):
            task = bounded(answer.status or "", 64)
            state = state.update(
                phase=R_FAILED,
                next_attempt_time=None,
                error_message=bounded(
                    f"{state.error_message} (task is {task or 'unknown'})", MAX_MESSAGE
                ),
            )
        out.append(state)
    return out


def expire(
    states: list[ResumeState],
    now: dt.datetime,
    policy: Policy,
    observed: Collection[str] | None = None,
    asked: Collection[str] | None = None,
) -> list[ResumeState]:
    """Accepted resumes whose task stays in PAUSING past the verification timeout fail (an
    overdue job not looked up in this pass is looked up first; it fails unseen only past twice
    the timeout and after UNSEEN_LOOKUPS unanswered lookups, as for a pause)."""
    if policy.verify_timeout <= 0:
        return states
    limit = dt.timedelta(seconds=policy.verify_timeout)
    out = []
    for state in states:
        if state.phase == R_ACCEPTED and state.accepted_time and now - state.accepted_time >= limit:
            state, verdict = unseen_verdict(state, now, limit, observed, asked)
            if verdict == LOOK_AGAIN:
                out.append(state)
                continue
            state = state.update(
                phase=R_FAILED,
                next_attempt_time=None,
                error_message=bounded(
                    f"the resume was accepted but the task was still PAUSING after "
                    f"{policy.verify_timeout:g}s",
                    MAX_MESSAGE,
                ),
            )
        out.append(state)
    return out


def next_wakeup(
    states: Iterable[ResumeState],
    now: dt.datetime,
    policy: Policy,
    due_at: dt.datetime | None = None,
) -> float | None:
    """Seconds until a resume retry, poll or timeout is due, or the scheduled resume."""
    states = list(states)
    times = []
    for state in states:
        if not state.active:
            continue
        times.append(state.next_attempt_time or now)
        if state.phase == R_ACCEPTED and state.accepted_time and policy.verify_timeout > 0:
            deadline = state.accepted_time + dt.timedelta(seconds=policy.verify_timeout)
            if deadline > now:
                times.append(deadline)
    if due_at is not None and not begun(states):
        times.append(due_at)
    if not times:
        return None
    return max(0.0, (min(times) - now).total_seconds())


# --- object level ---------------------------------------------------------------------------


def object_phase(states: Iterable[ResumeState]) -> str | None:
    """Resuming / Resumed / PartiallyResumed once jobs this object paused are being resumed;
    None while no resume counts (not begun, or every job Skipped: the pause phase stands)."""
    counted = [s for s in states if s.phase in (R_PENDING, R_ACCEPTED, RESUMED, R_FAILED)]
    if not counted:
        return None
    if any(s.active for s in counted):
        return RESUMING
    if any(s.phase == R_FAILED for s in counted):
        return PARTIALLY_RESUMED
    return RESUMED


def finished(states: Iterable[ResumeState]) -> bool:
    """The resume began and nothing is left to do or to fix (no job in flight or Failed)."""
    states = list(states)
    return begun(states) and not any(s.active or s.phase == R_FAILED for s in states)


def long_pause(
    jobs: Iterable[JobState],
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


def finalizer_wanted(spec: ResumeSpec | None, states: Iterable[ResumeState]) -> bool:
    """Hold the object for a resume on deletion: only with onDelete, until the resume is done."""
    return spec is not None and spec.on_delete and not finished(states)


@dataclass
class Decoration:
    """Everything :func:`decorate` adds to a rendered status."""

    states: list[ResumeState]
    paused_at: dt.datetime | None
    due_at: dt.datetime | None
    token: str | None
    warn_long: bool = False
    deleting: bool = False
    problem: Problem | None = None


def _summary(states: list[ResumeState]) -> tuple[str, list[str]]:
    resumed = sum(s.phase == RESUMED for s in states)
    counted = sum(s.phase in (R_PENDING, R_ACCEPTED, RESUMED, R_FAILED) for s in states)
    active = sum(s.active for s in states)
    failed = [s for s in states if s.phase == R_FAILED]
    skipped = sum(s.phase == SKIPPED for s in states)
    text = f"{resumed} of {counted} jobs resumed"
    if failed:
        text += f"; {len(failed)} failed to resume"
    if active:
        text += f"; {active} in progress"
    if skipped:
        text += f"; {skipped} skipped"
    codes = sorted({s.error_code for s in failed if s.error_code})
    return text, codes


def decorate(
    old_status: Mapping[str, Any] | None,
    status: dict[str, Any],
    d: Decoration,
    generation: int,
    now: dt.datetime,
) -> dict[str, Any]:
    """Add the resume fields to a status ``status.render`` made (a new dict is returned)."""
    status = dict(status)
    by_id = {s.job_id: s for s in d.states}
    status["jobs"] = [
        {**entry, **(by_id[entry["jobId"]].fields() if entry.get("jobId") in by_id else {})}
        for entry in status.get("jobs") or []
    ]
    if d.paused_at is not None:
        status["pausedTime"] = fmt_time(d.paused_at)
    if d.due_at is not None:
        status["resumeTime"] = fmt_time(d.due_at)
    if d.token:
        status["resumeNowToken"] = d.token

    conds = [
        (c["type"], c["status"], c["reason"], c.get("message", ""))
        for c in status.get("conditions") or []
    ]
    if not conds:
        return status
    phase = object_phase(d.states)
    text, codes = _summary(d.states)
    if phase is not None:
        status["phase"] = phase
    new = []
    for ctype, cstatus, reason, message in conds:
        if phase is not None and d.problem is None:
            if ctype == "Ready":
                cstatus, reason, message = (
                    ("True", "Resumed", text) if phase == RESUMED else ("False", phase, text)
                )
            elif ctype == "Reconciling":
                cstatus, reason, message = (
                    ("True", "Resuming", text) if phase == RESUMING else ("False", "Done", text)
                )
            elif ctype == "Stalled":
                if phase == PARTIALLY_RESUMED:
                    cstatus, reason = "True", "JobsFailed"
                    message = (
                        f"{text}" + (f": {', '.join(codes[:5])}" if codes else "")
                        + f" (set the annotation {RESUME_NOW_ANNOTATION} to a new value to "
                        "send them again)"
                    )
                else:
                    cstatus, reason, message = "False", "NotStalled", ""
        elif ctype == "Ready" and d.due_at is not None and not begun(d.states):
            message = f"{message}; resumes at {fmt_time(d.due_at)}"
            if d.warn_long:
                message += (
                    f"; {LONG_PAUSE_TEXT} (source logs may expire and the task may not resume)"
                )
        if ctype == "Stalled" and d.deleting and cstatus == "True":
            message = (
                f"{DELETION_TEXT}: {message} (set the annotation {SKIP_RESUME_ANNOTATION}: "
                '"true" to delete without resuming)'
            )
        new.append((ctype, cstatus, reason, message))
    status["conditions"] = merge_conditions(
        list((old_status or {}).get("conditions") or []), new, generation, now
    )
    return status


def events(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], why: str | None
) -> list[tuple[str, str, str]]:
    """Resume Events besides the phase ones of ``status.transition_events``."""
    out: list[tuple[str, str, str]] = []
    if why is not None:
        text = {
            BY_ANNOTATION: f"resuming now ({RESUME_NOW_ANNOTATION})",
            BY_DELETION: "resuming before the object goes (spec.resume.onDelete)",
            BY_SCHEDULE: "resuming as scheduled",
        }[why]
        out.append(("Normal", why, text))

    def message(status: Mapping[str, Any] | None, ctype: str) -> str:
        for c in (status or {}).get("conditions") or []:
            if isinstance(c, dict) and c.get("type") == ctype:
                return str(c.get("message") or "")
        return ""

    if LONG_PAUSE_TEXT in message(new, "Ready") and LONG_PAUSE_TEXT not in message(old, "Ready"):
        out.append(
            (
                "Warning",
                "LongPause",
                "a job with pauseMode all stays paused for more than 24h before its resume "
                f"(resumes at {new.get('resumeTime')}): source logs may expire and the task "
                "may not resume",
            )
        )
    if DELETION_TEXT in message(new, "Stalled") and DELETION_TEXT not in message(old, "Stalled"):
        out.append(("Warning", "DeletionBlocked", message(new, "Stalled")))
    return out
