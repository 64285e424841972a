"""What batch-progress says about one job, and how its answer is read.

One ``QueryProgressResp`` entry becomes a :class:`JobProgress`. Its replication delay
(``incre_trans_delay``, seconds, a string on the wire) is read strictly by :func:`parse_delay`:
whole seconds (a string of digits, or a whole number) are the delay; ``-1``, an empty string,
null or no field at all mean it does not apply (the task is not in its incremental phase);
anything else is a protocol error of that job alone, never of the whole answer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_DELAY_SECONDS", "JobProgress", "job_progress", "parse_delay"]

#: The largest delay believed (about 3 000 years); beyond it the answer is taken as garbage.
MAX_DELAY_SECONDS = 10**11
NOT_APPLICABLE = -1
_DIGITS = re.compile(r"[0-9]{1,12}")
# The text fields of a result, as (wire name, JobProgress field).
_TEXTS = (
    ("transfer_status", "transfer_status"),
    ("task_mode", "task_mode"),
    ("progress", "progress"),
    ("error_code", "error_code"),
    ("error_msg", "error_message"),
)


@dataclass(frozen=True, slots=True)
class JobProgress:
    """One job's batch-progress answer."""

    job_id: str
    #: The replication delay in whole seconds; None when it does not apply (not in the
    #: incremental phase, or the answer did not give one).
    delay_seconds: int | None = None
    #: The task state batch-progress reported (e.g. INCRE_TRANSFER_STARTED, PAUSING).
    transfer_status: str | None = None
    #: FULL_TRANS, INCR_TRANS or FULL_INCR_TRANS.
    task_mode: str | None = None
    #: Percent done, as the service wrote it.
    progress: str | None = None
    #: The job's own error (e.g. DRS.M05003 for an unknown id), and its message.
    error_code: str | None = None
    error_message: str | None = None
    #: What was wrong with this job's entry (e.g. a delay that is not a number); the other
    #: fields hold what could be read.
    protocol_error: str | None = None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_delay(value: Any) -> int | None:
    """``incre_trans_delay`` as whole seconds; None when it does not apply (-1, "", null).
    Raises ValueError, naming the value, for anything else."""
    if value is None or value == "":
        return None
    whole: int | None = None
    if isinstance(value, str):
        if value == "-1":
            return None
        if _DIGITS.fullmatch(value):
            whole = int(value)
    elif isinstance(value, bool):
        pass  # a JSON true/false is not a number here
    elif isinstance(value, int):
        whole = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        whole = int(value)
    if whole == NOT_APPLICABLE:
        return None
    if whole is None or not 0 <= whole <= MAX_DELAY_SECONDS:
        raise ValueError(f"incre_trans_delay {_shown(value)} is not a whole number of seconds")
    return whole


def _text(value: Any) -> str | None:
    """A text field: a string (empty = none), or a number written out; ValueError otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError(_shown(value))


def job_progress(entry: Any) -> JobProgress | None:
    """The JobProgress of one ``results[]`` entry; None when it names no job (it cannot be
    matched to a request, so it is ignored)."""
    if not isinstance(entry, dict):
        return None
    job_id = entry.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        return None
    problems: list[str] = []
    try:
        delay = parse_delay(entry.get("incre_trans_delay"))
    except ValueError as err:
        delay = None
        problems.append(str(err))
    texts: dict[str, str | None] = {}
    for wire, name in _TEXTS:
        try:
            texts[name] = _text(entry.get(wire))
        except ValueError as err:
            texts[name] = None
            problems.append(f"{wire} {err} is not a string")
    return JobProgress(
        job_id=job_id,
        delay_seconds=delay,
        protocol_error="; ".join(problems) or None,
        **texts,
    )
