"""Status documents: job entries, summary, object phase, conditions, events, bounds."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from drs_pause_operator.resource.status import (
    ACCEPTED,
    FAILED,
    IN_PROGRESS,
    MAX_MESSAGE,
    MAX_SHORT,
    PARTIALLY_PAUSED,
    PAUSED,
    PENDING,
    JobState,
    Problem,
    Summary,
    bounded,
    condition,
    conditions_for,
    fmt_time,
    merge_conditions,
    object_phase,
    parse_time,
    render,
    transition_events,
)

from ..values import J1, J2, J3, NOW, at, job

# --- JobState <-> dict ----------------------------------------------------------------------


def test_job_state_round_trips_through_its_dict() -> None:
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
    assert JobState.from_dict(data) == full
    assert json.loads(json.dumps(data)) == data


def test_job_state_dict_leaves_out_unset_times() -> None:
    data = job(J1).to_dict()
    assert not {"lastAttemptTime", "acceptedTime", "nextAttemptTime"} & set(data)
    assert data["phase"] == PENDING and data["attempts"] == 0
    assert JobState.from_dict(data) == job(J1)


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
    ],
)
def test_job_state_from_partial_or_odd_dicts(entry, expected) -> None:
    assert JobState.from_dict(entry) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (NOW, "2026-11-28T10:00:00Z"),
        (NOW + dt.timedelta(microseconds=999_999), "2026-11-28T10:00:00Z"),
        (NOW.astimezone(dt.timezone(dt.timedelta(hours=2))), "2026-11-28T10:00:00Z"),
        (None, None),
    ],
)
def test_fmt_time_is_utc_seconds(value, expected) -> None:
    assert fmt_time(value) == expected
    if expected:
        assert parse_time(expected) == NOW


# --- summary and phase ----------------------------------------------------------------------


def test_summary_counts_accepted_as_pending_and_lists_failed_codes_once() -> None:
    jobs = [
        job(J1, phase=PAUSED),
        job(J2, phase=ACCEPTED),
        job(J3, phase=FAILED, error_code="DRS.M05003"),
        job("x", phase=FAILED, error_code="DRS.M05003"),
        job("y", phase=FAILED, error_code="DRS.M00202"),
        job("z", phase=FAILED),
    ]
    s = Summary.of(jobs)
    assert s.to_dict() == {"total": 6, "paused": 1, "failed": 4, "pending": 1}
    assert s.failed_codes == ("DRS.M00202", "DRS.M05003")


@pytest.mark.parametrize(
    ("jobs", "phase"),
    [
        ([job(J1), job(J2)], PENDING),  # before any attempt
        ([job(J1, attempts=1), job(J2)], IN_PROGRESS),
        ([job(J1, phase=ACCEPTED, attempts=1)], IN_PROGRESS),
        ([job(J1, phase=PAUSED, attempts=1), job(J2)], IN_PROGRESS),  # a job was added
        ([job(J1, phase=FAILED, attempts=1), job(J2, phase=ACCEPTED, attempts=1)], IN_PROGRESS),
        ([job(J1, phase=PAUSED), job(J2, phase=PAUSED)], PAUSED),
        ([job(J1, phase=PAUSED), job(J2, phase=FAILED)], PARTIALLY_PAUSED),
        ([job(J1, phase=FAILED), job(J2, phase=FAILED)], FAILED),
    ],
)
def test_object_phase(jobs, phase) -> None:
    assert object_phase(jobs) == phase


# --- conditions -----------------------------------------------------------------------------


def _conds(jobs, problem=None):
    return {c[0]: c[1:] for c in conditions_for(jobs, problem)}


def test_conditions_all_paused() -> None:
    c = _conds([job(J1, phase=PAUSED), job(J2, phase=PAUSED)])
    assert c["Ready"] == ("True", "Paused", "2 of 2 jobs paused")
    assert c["Reconciling"][:2] == ("False", "Done")
    assert c["Stalled"][:2] == ("False", "NotStalled")


def test_conditions_partially_paused_stalls_with_jobs_failed() -> None:
    c = _conds(
        [
            job(J1, phase=PAUSED),
            job(J2, phase=PAUSED),
            job(J3, phase=FAILED, error_code="DRS.M05003"),
        ]
    )
    assert c["Ready"] == ("False", PARTIALLY_PAUSED, "2 of 3 jobs paused; 1 failed: DRS.M05003")
    assert c["Reconciling"][:2] == ("False", "Done")
    assert c["Stalled"][:2] == ("True", "JobsFailed")
    assert "drs.cloudops.dev/retry-failed" in c["Stalled"][2]


def test_conditions_failed_while_others_pending_is_not_stalled_yet() -> None:
    c = _conds([job(J1, phase=FAILED, attempts=1), job(J2, attempts=1)])
    assert c["Reconciling"][:2] == ("True", "Pausing")
    assert c["Stalled"][0] == "False"
    assert c["Ready"][:2] == ("False", IN_PROGRESS)


def test_conditions_verifying_when_every_active_job_is_accepted() -> None:
    c = _conds([job(J1, phase=ACCEPTED, attempts=1), job(J2, phase=PAUSED)])
    assert c["Reconciling"][:2] == ("True", "Verifying")
    c = _conds([job(J1, phase=ACCEPTED, attempts=1), job(J2, attempts=1)])
    assert c["Reconciling"][:2] == ("True", "Pausing")


@pytest.mark.parametrize(
    "reason", ["CredentialsNotFound", "EndpointNotAllowed", "AuthenticationFailed"]
)
def test_conditions_with_an_operator_problem(reason: str) -> None:
    problem = Problem(reason, "create the Secret drs-credentials")
    c = _conds([job(J1), job(J2)], problem)
    assert c["Stalled"] == ("True", reason, "create the Secret drs-credentials")
    assert c["Ready"] == ("False", reason, "create the Secret drs-credentials")
    # Blocked until a person acts: not reconciling, though the jobs are still pending.
    assert c["Reconciling"] == ("False", reason, "0 of 2 jobs paused; 2 in progress")


def _first_true(conditions) -> str | None:
    """What kstatus reads: the first of Reconciling / Stalled that is True, in list order."""
    return next(
        (c[0] for c in conditions if c[0] in ("Reconciling", "Stalled") and c[1] == "True"), None
    )


@pytest.mark.parametrize(
    "jobs",
    [
        [job(J1), job(J2)],  # before any attempt
        [job(J1, attempts=1), job(J2, phase=ACCEPTED, attempts=1)],  # rejected mid-way
        [job(J1, phase=PAUSED), job(J2, attempts=1)],
        [job(J1, phase=PAUSED), job(J2, phase=PAUSED)],  # e.g. InvalidSpec on a paused object
        [job(J1, phase=FAILED), job(J2, phase=FAILED)],
    ],
)
def test_an_operator_problem_lists_stalled_before_a_false_reconciling(jobs) -> None:
    conditions = conditions_for(jobs, Problem("AuthenticationFailed", "AK/SK rejected"))
    assert [c[0] for c in conditions] == ["Ready", "Stalled", "Reconciling"]
    assert conditions[2][1] == "False"
    assert _first_true(conditions) == "Stalled"


@pytest.mark.parametrize(
    ("jobs", "first_true"),
    [
        ([job(J1), job(J2)], "Reconciling"),
        ([job(J1, phase=ACCEPTED, attempts=1), job(J2, phase=PAUSED)], "Reconciling"),
        ([job(J1, phase=FAILED, attempts=1), job(J2, attempts=1)], "Reconciling"),
        ([job(J1, phase=PAUSED), job(J2, phase=PAUSED)], None),
        ([job(J1, phase=PAUSED), job(J2, phase=FAILED)], "Stalled"),
        ([job(J1, phase=FAILED), job(J2, phase=FAILED)], "Stalled"),
    ],
)
def test_without_a_problem_the_order_stays_ready_reconciling_stalled(jobs, first_true) -> None:
    conditions = conditions_for(jobs, None)
    assert [c[0] for c in conditions] == ["Ready", "Reconciling", "Stalled"]
    # Never both True: the order only decides nothing where one of them is True.
    assert [c[1] for c in conditions[1:]].count("True") <= 1
    assert _first_true(conditions) == first_true


def test_render_keeps_the_problem_order_and_flips_back_when_it_is_fixed() -> None:
    jobs = [job(J1, attempts=1), job(J2, attempts=1)]
    stalled = render(None, jobs, 1, Problem("CredentialsNotFound", "no secret"), NOW)
    assert [(c["type"], c["status"]) for c in stalled["conditions"]] == [
        ("Ready", "False"),
        ("Stalled", "True"),
        ("Reconciling", "False"),
    ]
    fixed = render(stalled, jobs, 1, None, at(60))
    assert [(c["type"], c["status"]) for c in fixed["conditions"]] == [
        ("Ready", "False"),
        ("Reconciling", "True"),
        ("Stalled", "False"),
    ]
    # Both flipped, so both moved; Ready stayed False and kept its time.
    times = {c["type"]: c["lastTransitionTime"] for c in fixed["conditions"]}
    assert times == {
        "Ready": "2026-11-28T10:00:00Z",
        "Reconciling": "2026-11-28T10:01:00Z",
        "Stalled": "2026-11-28T10:01:00Z",
    }


def test_ready_is_true_only_when_all_jobs_are_paused() -> None:
    phases = [PENDING, ACCEPTED, PAUSED, FAILED]
    for a in phases:
        for b in phases:
            ready = _conds([job(J1, phase=a, attempts=1), job(J2, phase=b, attempts=1)])["Ready"]
            assert (ready[0] == "True") == (a == b == PAUSED)


def test_failed_text_lists_at_most_five_codes() -> None:
    jobs = [job(f"j{i}", phase=FAILED, error_code=f"DRS.M0000{i}") for i in range(8)]
    msg = _conds(jobs)["Ready"][2]
    assert msg.count("DRS.M") == 5


def test_merge_conditions_keeps_transition_time_unless_status_flips() -> None:
    first = merge_conditions(None, [("Ready", "False", "Pending", "0 of 1")], 1, NOW)
    assert first == [
        {
            "type": "Ready",
            "status": "False",
            "reason": "Pending",
            "message": "0 of 1",
            "observedGeneration": 1,
            "lastTransitionTime": "2026-11-28T10:00:00Z",
        }
    ]
    # Same status, new reason, message and generation: the time stays.
    same = merge_conditions(first, [("Ready", "False", "InProgress", "1 of 2")], 2, at(60))
    assert same[0]["lastTransitionTime"] == "2026-11-28T10:00:00Z"
    assert same[0]["observedGeneration"] == 2
    assert (same[0]["reason"], same[0]["message"]) == ("InProgress", "1 of 2")
    flipped = merge_conditions(same, [("Ready", "True", "Paused", "2 of 2")], 2, at(120))
    assert flipped[0]["lastTransitionTime"] == "2026-11-28T10:02:00Z"


def test_merge_conditions_tolerates_junk_and_missing_times() -> None:
    old = ["junk", {"type": "Ready", "status": "False"}, {"status": "True"}]
    out = merge_conditions(old, [("Ready", "False", "x", "y")], 3, NOW)  # type: ignore[arg-type]
    assert out[0]["lastTransitionTime"] == "2026-11-28T10:00:00Z"


def test_condition_messages_are_bounded() -> None:
    out = merge_conditions(None, [("Stalled", "True", "X", "a\nb" * 100_000)], 1, NOW)
    assert len(out[0]["message"]) <= MAX_MESSAGE
    assert "\n" not in out[0]["message"]


# --- render ---------------------------------------------------------------------------------


def test_render_builds_the_documented_status() -> None:
    jobs = [
        job(J1, phase=PAUSED, attempts=1),
        job(J2, phase=PAUSED, attempts=1),
        job(J3, phase=FAILED, attempts=1, error_code="DRS.M05003"),
    ]
    status = render(None, jobs, 2, None, NOW, "tok")
    assert status["observedGeneration"] == 2
    assert status["phase"] == PARTIALLY_PAUSED
    assert status["pausedText"] == "2/3"
    assert status["summary"] == {"total": 3, "paused": 2, "failed": 1, "pending": 0}
    assert [c["type"] for c in status["conditions"]] == ["Ready", "Reconciling", "Stalled"]
    assert all(c["observedGeneration"] == 2 for c in status["conditions"])
    assert status["jobs"] == [j.to_dict() for j in jobs]
    assert status["retryFailedToken"] == "tok"
    assert "retryFailedToken" not in render(None, jobs, 2, None, NOW)
    assert json.loads(json.dumps(status)) == status


def test_render_is_stable_and_keeps_transition_times() -> None:
    jobs = [job(J1, phase=ACCEPTED, attempts=1), job(J2, phase=PAUSED, attempts=1)]
    first = render(None, jobs, 1, None, NOW)
    assert render(None, jobs, 1, None, NOW) == first
    assert render(first, jobs, 1, None, at(3600)) == first  # nothing flipped: nothing changes
    done = [j.update(phase=PAUSED) for j in jobs]
    second = render(first, done, 1, None, at(60))
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times == {
        "Ready": "2026-11-28T10:01:00Z",
        "Reconciling": "2026-11-28T10:01:00Z",
        "Stalled": "2026-11-28T10:00:00Z",
    }
    # A new generation updates observedGeneration everywhere, but no transition time.
    third = render(second, done, 2, None, at(120))
    assert third["observedGeneration"] == 2
    assert [c["observedGeneration"] for c in third["conditions"]] == [2, 2, 2]
    assert [c["lastTransitionTime"] for c in third["conditions"]] == [
        c["lastTransitionTime"] for c in second["conditions"]
    ]


def test_status_with_500_jobs_and_hostile_text_stays_small() -> None:
    huge = "x" * 1_000_000
    jobs = [
        job(
            f"{i:08d}-0000-0000-0000-000000000000",
            phase=FAILED,
            attempts=1,
            error_code=bounded(huge),
            error_message=bounded(huge, MAX_MESSAGE),
            task_status=bounded(huge, 64),
            api_status=bounded(huge),
            request_id=bounded(huge),
        )
        for i in range(500)
    ]
    status = render(None, jobs, 1, Problem("X", huge), NOW)
    assert len(json.dumps(status)) < 1_000_000  # well below etcd's 1.5 MiB


# --- bounded --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        (None, 10, ""),
        ("", 10, ""),
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("eleven chars", 10, "eleven ch…"),
        ("a\nb\tc\x00d\x1b", 20, "a b c d "),
        ("line\u2028sep\ud800", 20, "line sep "),
        ("DRS.M00304", MAX_SHORT, "DRS.M00304"),
        ("ünïcödé 暂停", 20, "ünïcödé 暂停"),
    ],
)
def test_bounded(text, limit, expected) -> None:
    assert bounded(text, limit) == expected
    assert len(bounded(text, limit)) <= limit


def test_bounded_default_limit_and_a_megabyte() -> None:
    out = bounded("\x07" * 1_000_000)
    assert len(out) == MAX_SHORT and out.isprintable()
    assert bounded("x" * 1_000_000, MAX_MESSAGE).endswith("…")


# --- events ---------------------------------------------------------------------------------


def _status(jobs, problem=None, old=None, now=NOW):
    return render(old, jobs, 1, problem, now)


def test_no_events_when_nothing_changed() -> None:
    for jobs in (
        [job(J1)],
        [job(J1, attempts=1)],
        [job(J1, phase=PAUSED)],
        [job(J1, phase=FAILED)],
    ):
        s = _status(jobs)
        assert transition_events(s, s) == []
        assert transition_events(s, _status(jobs, old=s, now=at(60))) == []
    s = _status([job(J1)], Problem("CredentialsNotFound", "no secret"))
    assert (
        transition_events(
            s, _status([job(J1)], Problem("CredentialsNotFound", "no secret"), old=s, now=at(5))
        )
        == []
    )


def test_first_status_while_pending_posts_nothing() -> None:
    assert transition_events(None, _status([job(J1)])) == []
    assert transition_events({}, _status([job(J1)])) == []


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ([job(J1)], [job(J1, attempts=1)], [("Normal", "Pausing")]),
        ([job(J1, attempts=1)], [job(J1, phase=PAUSED)], [("Normal", "Paused")]),
        (
            [job(J1, attempts=1), job(J2, attempts=1)],
            [job(J1, phase=PAUSED), job(J2, phase=FAILED)],
            [("Warning", "PartiallyPaused")],
        ),
        ([job(J1, attempts=1)], [job(J1, phase=FAILED)], [("Warning", "Failed")]),
        ([job(J1)], [job(J1, phase=PAUSED)], [("Normal", "Paused")]),
        ([job(J1, phase=FAILED)], [job(J1, phase=PAUSED)], [("Normal", "Paused")]),
    ],
)
def test_one_event_per_phase_transition(before, after, expected) -> None:
    old = _status(before)
    events = transition_events(old, _status(after, old=old, now=at(10)))
    assert [(t, r) for t, r, _ in events] == expected
    assert all(m for _, _, m in events)


def test_problem_events_warn_once_and_recover_once() -> None:
    ok = _status([job(J1)])
    stalled = _status([job(J1)], Problem("EndpointNotAllowed", "use an allowed endpoint"), ok)
    assert transition_events(ok, stalled) == [
        ("Warning", "EndpointNotAllowed", "use an allowed endpoint")
    ]
    other = _status([job(J1)], Problem("CredentialsNotFound", "no secret"), stalled)
    assert transition_events(stalled, other) == [("Warning", "CredentialsNotFound", "no secret")]
    fixed = _status([job(J1, attempts=1)], None, other)
    assert transition_events(other, fixed) == [
        ("Normal", "Pausing", fixed["conditions"][0]["message"]),
        ("Normal", "Recovered", "CredentialsNotFound resolved"),
    ]


def test_jobs_failed_is_not_a_problem_event() -> None:
    old = _status([job(J1, attempts=1)])
    new = _status([job(J1, phase=FAILED, error_code="DRS.M05003")], old=old)
    assert condition(new, "Stalled")["reason"] == "JobsFailed"
    assert transition_events(old, new) == [
        ("Warning", "Failed", condition(new, "Ready")["message"])
    ]
    again = _status([job(J1, phase=PENDING, attempts=1)], old=new)  # retried
    assert [r for _, r, _ in transition_events(new, again)] == ["Pausing"]


def test_condition_lookup() -> None:
    s = _status([job(J1)])
    assert condition(s, "Ready")["type"] == "Ready"
    assert condition(s, "Nope") is None
    assert condition(None, "Ready") is None
    assert condition({"conditions": ["junk"]}, "Ready") is None


def test_max_short_is_what_the_contract_says() -> None:
    assert (MAX_SHORT, MAX_MESSAGE) == (128, 512)


def test_bounded_cost_does_not_grow_with_the_input() -> None:
    import time

    huge = "\x00" * 50_000_000
    started = time.perf_counter()
    for _ in range(20):
        assert bounded(huge, MAX_MESSAGE) == " " * (MAX_MESSAGE - 1) + "…"
    assert time.perf_counter() - started < 1.0  # cleaning 1 GB of text would take minutes
