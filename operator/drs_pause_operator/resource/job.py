"""One job's entry in ``status.jobs``: the task, and one leg per verb (pure).

A :class:`Leg` is one job's progress through one action (pause or resume): its phase, the
attempts written ahead of each request, the backoff's step, the lookups that went unanswered,
its times and DRS's answer. The pause's leg is stored in the entry's plain fields (``phase``,
``attempts``, ...), the resume's in ``resume*`` fields (``resumePhase``, ``resumeAttempts``, ...):
:class:`~drs_pause_operator.resource.verbs.Verb` names them. Every field survives a restart
through the status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from drs_pause_operator.resource.formats import fmt_time, parse_time
from drs_pause_operator.resource.verbs import ACCEPTED, PAUSE, PENDING, RESUME, Verb

_TIMES = ("lastAttemptTime", "acceptedTime", "nextAttemptTime")


@dataclass(frozen=True)
class Leg:
    phase: str = ""
    api_status: str = ""
    error_code: str = ""
    error_message: str = ""
    request_id: str = ""
    attempts: int = 0  # each written ahead of its request (a restart may have cut it off)
    last_attempt_time: dt.datetime | None = None
    accepted_time: dt.datetime | None = None
    next_attempt_time: dt.datetime | None = None
    # Transient answers since the leg was last sent anew: the retry backoff's step. Unlike
    # attempts, a request cut off by an operator restart does not count (it failed nothing).
    transient_failures: int = 0
    # Accepted and past the verification timeout: lookups that asked for the job and got no
    # answer about it. Only after a few of those does it fail unseen (see legs.expire).
    unanswered_lookups: int = 0

    @property
    def active(self) -> bool:
        return self.phase in (PENDING, ACCEPTED)

    def due(self, now: dt.datetime) -> bool:
        return self.next_attempt_time is None or self.next_attempt_time <= now

    def update(self, **changes: Any) -> Leg:
        return replace(self, **changes)

    def fields(self, verb: Verb) -> dict[str, Any]:
        """This leg's keys in its job's status entry (none for a leg that has not begun)."""
        if not self.phase:
            return {}
        k = verb.key
        data: dict[str, Any] = {k("phase"): self.phase}
        if verb.writes_api_status:
            data[k("apiStatus")] = self.api_status
        data.update(
            {
                k("errorCode"): self.error_code,
                k("errorMessage"): self.error_message,
                k("requestId"): self.request_id,
                k("attempts"): self.attempts,
            }
        )
        if self.transient_failures:
            data[k("transientFailures")] = self.transient_failures
        if self.unanswered_lookups:
            data[k("unansweredLookups")] = self.unanswered_lookups
        for key, value in zip(
            _TIMES, (self.last_attempt_time, self.accepted_time, self.next_attempt_time),
            strict=True,
        ):
            if value is not None:
                data[k(key)] = fmt_time(value)
        return data

    @classmethod
    def of(cls, entry: Mapping[str, Any], verb: Verb) -> Leg:
        k = verb.key
        phase = entry.get(k("phase"))
        return cls(
            phase=phase if phase in verb.phases else verb.initial,
            api_status=str(entry.get(k("apiStatus")) or "") if verb.writes_api_status else "",
            error_code=str(entry.get(k("errorCode")) or ""),
            error_message=str(entry.get(k("errorMessage")) or ""),
            request_id=str(entry.get(k("requestId")) or ""),
            attempts=int(entry.get(k("attempts")) or 0),
            last_attempt_time=parse_time(entry.get(k("lastAttemptTime"))),
            accepted_time=parse_time(entry.get(k("acceptedTime"))),
            next_attempt_time=parse_time(entry.get(k("nextAttemptTime"))),
            transient_failures=int(entry.get(k("transientFailures")) or 0),
            unanswered_lookups=int(entry.get(k("unansweredLookups")) or 0),
        )


@dataclass(frozen=True)
class Job:
    """A spec job and what the operator did about it."""

    job_id: str
    pause_mode: str
    task_status: str = ""  # the task state batch-status last showed
    pause: Leg = field(default_factory=lambda: Leg(phase=PENDING))
    resume: Leg = field(default_factory=Leg)
    # The replication delay (spec.delayGate, spec.resume.catchUp; resource/delay.py): the last
    # reading in seconds (None: never read, or "does not apply" when delay_time is set), when
    # it was read, the reading the pause went out on, since when the gate holds the pause, and
    # when the resumed task caught up.
    delay_seconds: int | None = None
    delay_time: dt.datetime | None = None
    delay_at_pause: int | None = None
    delay_gate_since: dt.datetime | None = None
    caught_up_time: dt.datetime | None = None
    # spec.dryRun (resource/plans.py): what a pause would do, until the job is sent.
    plan: str = ""
    plan_message: str = ""

    def leg(self, verb: Verb) -> Leg:
        return self.pause if verb is PAUSE else self.resume

    def with_leg(self, verb: Verb, leg: Leg) -> Job:
        return replace(self, pause=leg) if verb is PAUSE else replace(self, resume=leg)

    @property
    def phase(self) -> str:
        """The pause's phase (what the object's summary and PAUSED column count)."""
        return self.pause.phase

    @property
    def active(self) -> bool:
        """Is its pause still under way (Pending or Accepted)?"""
        return self.pause.active

    def update(self, **changes: Any) -> Job:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        pause = self.pause.fields(PAUSE)
        data: dict[str, Any] = {
            "jobId": self.job_id,
            "pauseMode": self.pause_mode,
            "phase": pause.pop("phase"),
            "taskStatus": self.task_status,
            **pause,
            **self.resume.fields(RESUME),
        }
        for key, number in (("delaySeconds", self.delay_seconds),
                            ("delayAtPause", self.delay_at_pause)):
            if number is not None:
                data[key] = number
        for key, when in (("delayTime", self.delay_time),
                          ("delayGateSince", self.delay_gate_since),
                          ("caughtUpTime", self.caught_up_time)):
            if when is not None:
                data[key] = fmt_time(when)
        if self.plan:
            data["plan"] = self.plan
            if self.plan_message:
                data["planMessage"] = self.plan_message
        return data

    @classmethod
    def from_dict(cls, entry: Mapping[str, Any]) -> Job:
        return cls(
            job_id=str(entry.get("jobId", "")),
            pause_mode=str(entry.get("pauseMode", "")),
            task_status=str(entry.get("taskStatus") or ""),
            pause=Leg.of(entry, PAUSE),
            resume=Leg.of(entry, RESUME),
            delay_seconds=_int(entry.get("delaySeconds")),
            delay_time=parse_time(entry.get("delayTime")),
            delay_at_pause=_int(entry.get("delayAtPause")),
            delay_gate_since=parse_time(entry.get("delayGateSince")),
            caught_up_time=parse_time(entry.get("caughtUpTime")),
            plan=str(entry.get("plan") or ""),
            plan_message=str(entry.get("planMessage") or ""),
        )

    @property
    def delay_known(self) -> bool:
        """Was the delay read at all (a reading, or "does not apply")?"""
        return self.delay_time is not None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def jobs_from_status(status: Mapping[str, Any] | None) -> list[Job]:
    entries = (status or {}).get("jobs") or []
    return [Job.from_dict(e) for e in entries if isinstance(e, dict) and e.get("jobId")]

