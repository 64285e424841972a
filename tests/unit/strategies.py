"""Hypothesis strategies for property tests: whatever DRS (or something pretending to be DRS)
may answer, and job entries in any phase of either leg."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from drs_pause_operator.resource.formats import bounded
from drs_pause_operator.resource.job import Job, Leg
from drs_pause_operator.resource.problem import Problem
from drs_pause_operator.resource.verbs import PAUSE, RESUME

from .values import J1, J2, J3, J4, NOW, Pause, Task

JOB_IDS = [J1, J2, J3, J4]
PAUSED_WORDS = ("PAUSING", "PAUSEING")

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

send_answer = st.builds(
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
send_map = st.dictionaries(answer_id, send_answer, max_size=6)
task_map = st.dictionaries(answer_id, task_answer, max_size=6)


def _leg(phases: tuple[str, ...]) -> st.SearchStrategy[Leg]:
    return st.builds(
        Leg,
        phase=st.sampled_from(phases),
        error_code=st.sampled_from(["", "DRS.M05003", "DRS.M00304", "X"]),
        error_message=st.text(max_size=30).map(bounded),
        attempts=st.integers(0, 5),
        accepted_time=st.one_of(st.none(), st.just(NOW)),
        next_attempt_time=st.one_of(
            st.none(), st.integers(-100, 100).map(lambda s: NOW + dt.timedelta(seconds=s))
        ),
        transient_failures=st.integers(0, 3),
    )


pause_leg = _leg(PAUSE.phases)
resume_leg = _leg((*RESUME.phases, ""))
job_entry = st.builds(
    Job,
    job_id=st.sampled_from(JOB_IDS),
    pause_mode=st.sampled_from(["target", "all"]),
    task_status=st.text(max_size=10).map(bounded),
    pause=pause_leg,
    resume=resume_leg,
)
jobs = st.lists(job_entry, max_size=6, unique_by=lambda j: j.job_id)
problem = st.one_of(
    st.none(),
    st.builds(
        Problem,
        st.sampled_from(["CredentialsNotFound", "EndpointNotAllowed"]),
        garbage.map(lambda t: t or ""),
    ),
)
