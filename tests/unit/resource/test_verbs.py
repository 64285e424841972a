"""What differs between a pause and a resume (resource/verbs.py), spelled out."""

from __future__ import annotations

import pytest

from drs_pause_operator.resource.verbs import (
    ACCEPTED,
    CATCHING_UP,
    FAILED,
    PAUSE,
    PAUSED,
    PENDING,
    RESUME,
    RESUMED,
    SKIPPED,
    VERBS,
)

GONE = ["DELETED", "RELEASE_RESOURCE_STARTED", "RELEASE_RESOURCE_COMPLETE",
        "RELEASE_RESOURCE_FAILED"]


def test_the_verbs() -> None:
    assert VERBS == (PAUSE, RESUME)
    assert (PAUSE.api, RESUME.api) == ("batch-pause-task", "batch-retry-task")
    assert (PAUSE.done, RESUME.done) == (PAUSED, RESUMED)
    assert PAUSE.phases == (PENDING, ACCEPTED, PAUSED, FAILED)
    assert RESUME.phases == (PENDING, ACCEPTED, CATCHING_UP, RESUMED, FAILED, SKIPPED)
    # A pause is wanted from the start; a resume has no phase until it begins.
    assert (PAUSE.initial, RESUME.initial) == (PENDING, "")
    assert (PAUSE.writes_api_status, RESUME.writes_api_status) == (True, False)


@pytest.mark.parametrize("state", ["PAUSING", "PAUSEING"])
def test_a_paused_state_is_the_pauses_goal_and_not_the_resumes(state: str) -> None:
    assert PAUSE.reached(state) and not RESUME.reached(state)


@pytest.mark.parametrize("state", ["INCRE_TRANSFER_STARTED", "FULL_TRANSFER_STARTED"])
def test_a_running_state_is_the_resumes_goal_and_not_the_pauses(state: str) -> None:
    assert RESUME.reached(state) and not PAUSE.reached(state)


@pytest.mark.parametrize("state", ["", *GONE])
def test_no_state_and_gone_states_are_nobodys_goal(state: str) -> None:
    assert not PAUSE.reached(state) and not RESUME.reached(state)


@pytest.mark.parametrize("state", ["pausing", " PAUSING", "PAUSED"])
def test_only_the_exact_paused_words_count_as_paused(state: str) -> None:
    assert not PAUSE.reached(state)


@pytest.mark.parametrize(
    ("name", "pause_key", "resume_key"),
    [("phase", "phase", "resumePhase"), ("attempts", "attempts", "resumeAttempts"),
     ("nextAttemptTime", "nextAttemptTime", "resumeNextAttemptTime"),
     ("unansweredLookups", "unansweredLookups", "resumeUnansweredLookups")],
)
def test_status_keys_of_each_verbs_leg(name: str, pause_key: str, resume_key: str) -> None:
    assert (PAUSE.key(name), RESUME.key(name)) == (pause_key, resume_key)


def test_the_words_of_an_expired_leg() -> None:
    assert PAUSE.expired(600, "INCRE_TRANSFER_STARTED", None) == (
        "the pause was accepted but the task did not reach PAUSING within 600s "
        "(last state: INCRE_TRANSFER_STARTED)"
    )
    assert RESUME.expired(60.5, "", 3) == (
        "the resume was accepted but the task was still PAUSING after 60.5s "
        "(last state: unknown; batch-status did not answer for it in 3 lookups)"
    )
