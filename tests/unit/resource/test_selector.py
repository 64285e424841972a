"""spec.selector's pure rules: validation, matching, when to resolve, and the decision."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from drs_pause_operator.drs.models import JobInfo
from drs_pause_operator.resource.selector import (
    PAUSABLE_STATES,
    Selection,
    Selector,
    as_jobs,
    decide,
    kept_jobs,
    matches,
    needs_resolve,
)
from drs_pause_operator.resource.spec import SpecError, parse_spec
from drs_pause_operator.resource.verbs import ACCEPTED, FAILED, PAUSED, PENDING

from ..values import job

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
ID = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"


def sel(**fields) -> Selector:
    return Selector.model_validate({"dbUseType": "sync", "pauseMode": "target", **fields})


def task(name: str = "orders-eu-1", status: str = "INCRE_TRANSFER_STARTED", **extra) -> JobInfo:
    fields = {"id": ID, "db_use_type": "sync", "engine_type": "mysql", **extra}
    return JobInfo(name=name, status=status, **fields)


def test_defaults() -> None:
    s = sel()
    assert s.statuses == PAUSABLE_STATES and s.max_jobs == 50 and s.tags == {}
    assert s.list_filters() == {"db_use_type": "sync"}


def test_filters_sent_to_drs() -> None:
    s = sel(engineType="mysql", name="orders", tags={"team": "payments", "env": "prod"},
            statuses=["incre_transfer_started"])
    assert s.list_filters() == {
        "db_use_type": "sync", "engine_type": "mysql", "name": "orders",
        "status": "INCRE_TRANSFER_STARTED",
        "tags": [{"key": "env", "value": "prod"}, {"key": "team", "value": "payments"}],
    }
    assert "status" not in sel(statuses=["INCRE_TRANSFER_STARTED", "PAUSING"]).list_filters()


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"nameRegex": "^orders-(eu"}, "not a valid regular expression"),
        ({"maxJobs": 501}, "less than or equal to 500"),
        ({"maxJobs": 0}, "greater than or equal to 1"),
        ({"dbUseType": "oracle"}, "'migration', 'sync' or 'cloudDataGuard'"),
        ({"tags": {"k" * 37: "v"}}, "keys are 1..36"),
        ({"pauseMode": "stop"}, "'target' or 'all'"),
    ],
)
def test_invalid_selectors(fields, text) -> None:
    with pytest.raises(ValidationError, match=text.replace("(", r"\(").replace(".", r"\.")):
        sel(**fields)


def test_a_pattern_python_cannot_compile_is_an_invalid_spec() -> None:
    # RE2 (the API server's CEL) accepts \pL; Python's re does not: the object stalls.
    with pytest.raises(SpecError, match=r"spec\.selector\.nameRegex"):
        parse_spec({"projectId": "p", "selector": {"dbUseType": "sync", "pauseMode": "all",
                                                    "nameRegex": r"^\pL+"}})


@pytest.mark.parametrize(
    "spec",
    [
        {"projectId": "p"},
        {"projectId": "p", "jobs": [{"jobId": ID, "pauseMode": "all"}],
         "selector": {"dbUseType": "sync", "pauseMode": "all"}},
    ],
    ids=["neither", "both"],
)
def test_exactly_one_of_jobs_and_selector(spec) -> None:
    with pytest.raises(SpecError, match=r"spec\.jobs .*spec\.selector"):
        parse_spec(spec)


def test_matching() -> None:
    s = sel(nameRegex="^orders-(eu|nl)-", engineType="mysql")
    assert matches(task("orders-eu-1"), s)
    assert not matches(task("orders-us-1"), s)
    assert not matches(task("x-orders-eu-1"), s)
    assert not matches(task(status="PAUSING"), s)  # already paused: not by default
    assert not matches(task(status="CREATING"), s)
    assert not matches(task(engine_type="postgresql"), s)
    assert not matches(JobInfo(id=ID, name="orders-eu-1", status="INCRE_TRANSFER_STARTED",
                               db_use_type="migration"), s)
    assert matches(task(status="PAUSING"), sel(statuses=["PAUSING"]))


def test_tags_are_checked_when_the_list_carries_them() -> None:
    s = sel(tags={"team": "payments"})
    assert matches(task(), s)  # the list's JobInfo has no tags: DRS filtered them
    assert matches(task(tags=[{"key": "team", "value": "payments"}, {"key": "x", "value": ""}]),
                   s)
    assert not matches(task(tags={"team": "search"}), s)
    assert not matches(task(tags=[]), s)


def test_when_to_resolve() -> None:
    done = Selection(2, NOW, 3, (ID,), "t1")
    assert needs_resolve(None, 1, None)
    assert needs_resolve(done, 3, None)  # a new generation
    assert not needs_resolve(done, 2, None)
    assert not needs_resolve(done, 2, "t1")  # acted on once
    assert needs_resolve(done, 2, "t2")


def test_decide() -> None:
    s = sel(maxJobs=2)
    selection, problem = decide(["b", "a", "a"], s, generation=1, now=NOW, token=None)
    assert problem is None and selection.job_ids == ("a", "b") and selection.matched == 2
    assert as_jobs(selection, s) == [{"jobId": "a", "pauseMode": "target"},
                                     {"jobId": "b", "pauseMode": "target"}]

    selection, problem = decide(["a", "b", "c"], s, generation=1, now=NOW, token="x")
    assert problem is not None and problem.reason == "TooManyMatches"
    assert "3 DRS tasks match" in problem.message and "maxJobs (2)" in problem.message
    assert selection.job_ids == () and selection.matched == 3 and selection.reselect_token == "x"

    selection, problem = decide([], s, generation=1, now=NOW, token=None)
    assert problem is not None and problem.reason == "NoMatches"
    assert "drs.cloudops.dev/reselect" in problem.message


def test_a_reselect_keeps_what_this_object_paused() -> None:
    previous = Selection(1, NOW, 4, ("p", "a", "s", "f", "n"), None)
    jobs = [
        job("p", phase=PAUSED),
        job("a", phase=ACCEPTED, attempts=1),
        job("s", phase=PENDING, attempts=1),  # sent: may be paused
        job("f", phase=FAILED, attempts=1),
        job("n", phase=PENDING),  # never sent
        job("other", phase=PAUSED),  # not from the selection
    ]
    kept = kept_jobs(jobs, previous)
    assert kept == ["p", "a", "s"]
    selection, problem = decide(["new"], sel(), generation=1, now=NOW, token="2", kept=kept)
    assert problem is None and selection.job_ids == ("a", "new", "p", "s")
    assert selection.matched == 1


def test_selection_round_trips_through_status() -> None:
    selection = Selection(3, NOW, 2, (ID,), "tok")
    data = selection.to_dict()
    assert data == {"observedGeneration": 3, "resolvedTime": "2026-11-28T10:00:00Z",
                    "matched": 2, "jobIds": [ID], "reselectToken": "tok"}
    assert Selection.from_status({"selection": data}) == selection
    assert Selection.from_status({}) is None
