"""Where an object stands, as ``pause --wait`` and ``plan`` follow it (pure).

A pause settles in Paused, PartiallyPaused or Failed. When a resume has begun, the object is
settled only once it is Resumed or PartiallyResumed: Resuming and CatchingUp (resumed tasks
waiting for a small replication delay) are still under way. A plan is settled once the object
is Planned with a ``plannedTime`` for its current generation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from drs_pause_operator.plugin.views import (
    BLOCKING,
    jobs_of,
    largest_delay,
    problem,
    summary,
)
from drs_pause_operator.resource.formats import parse_time
from drs_pause_operator.resource.plans import PLANNED

PAUSE_SETTLED = frozenset({"Paused", "PartiallyPaused", "Failed"})
RESUME_SETTLED = frozenset({"Resumed", "PartiallyResumed"})


def _gate_holds(job: Mapping[str, Any]) -> bool:
    """Does the delay gate hold this job's pause (never sent, waiting since delayGateSince)?"""
    return bool(job.get("delayGateSince")) and job.get("phase") == "Pending" and not (
        job.get("attempts")
    )


@dataclass(frozen=True)
class Resume:
    """The resume legs that count (Skipped ones do not)."""

    total: int
    resumed: int
    catching_up: int
    pending: int
    failed: int


@dataclass(frozen=True)
class Progress:
    total: int
    paused: int
    failed: int
    pending: int
    phase: str
    settled: bool
    blocked: tuple[str, str] | None = None
    #: None until a resume has begun (some job has a resume phase, Skipped ones too).
    resume: Resume | None = None
    #: Jobs whose pause the delay gate holds back.
    gated: int = 0
    #: The largest delay of the gated or catching-up jobs ("" when none is waiting for it).
    delay: str = ""
    #: When the scheduled resume is due (status.resumeTime), until it begins.
    resume_time: dt.datetime | None = None

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> Progress:
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        s = summary(obj)
        current = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 1)
        phase = str(status.get("phase") or "Pending")
        found = problem(obj)
        blocked = found if found and found[0] in BLOCKING and current else None
        jobs = jobs_of(obj)
        legs = [str(j.get("resumePhase") or "") for j in jobs]
        resume = None
        if any(legs):
            counted = [p for p in legs if p and p != "Skipped"]
            resume = Resume(
                total=len(counted),
                resumed=counted.count("Resumed"),
                catching_up=counted.count("CatchingUp"),
                pending=sum(p in ("Pending", "Accepted") for p in counted),
                failed=counted.count("Failed"),
            )
        gated = [j for j in jobs if _gate_holds(j)]
        catching = [j for j in jobs if j.get("resumePhase") == "CatchingUp"]
        if phase == PLANNED:
            settled = current and bool(status.get("plannedTime"))
        elif resume is not None and resume.total:
            settled = current and phase in RESUME_SETTLED
        else:
            settled = current and phase in PAUSE_SETTLED and s["pending"] == 0 and s["total"] > 0
        return cls(
            s["total"], s["paused"], s["failed"], s["pending"], phase, settled, blocked,
            resume=resume,
            gated=len(gated),
            delay=largest_delay(gated + catching),
            resume_time=None if resume else parse_time(status.get("resumeTime")),
        )

    @property
    def resuming(self) -> bool:
        """Has a resume that counts begun?"""
        return self.resume is not None and self.resume.total > 0

    def counts(self) -> str:
        """The numbers of the stage the object is in (the bar's text)."""
        if self.resuming:
            r = self.resume
            assert r is not None
            text = (f"resumed {r.resumed}/{r.total}  catching up {r.catching_up}  "
                    f"resuming {r.pending}  failed {r.failed}")
            return text + (f"  largest delay {self.delay}" if r.catching_up else "")
        text = f"paused {self.paused}/{self.total}  failed {self.failed}  pending {self.pending}"
        if self.gated:
            text += f"  waiting for delay {self.gated}, largest {self.delay or '-'}"
        return text

    def line(self) -> str:
        return f"{self.counts()}  ({self.phase})"

    def bar(self) -> tuple[int, int]:
        """(completed, total) for the progress bar."""
        if self.resuming:
            r = self.resume
            assert r is not None
            return r.resumed + r.failed, r.total
        return self.paused + self.failed, self.total

    @property
    def exit_code(self) -> int:
        """0 when every job is paused (and, after a resume, every resume that counts is done);
        1 otherwise: some failed, none could be chosen, or only a plan was made."""
        if not self.settled or self.phase == PLANNED or not self.total:
            return 1
        if self.paused != self.total:
            return 1
        return 0 if not self.resuming or self.phase == "Resumed" else 1
