"""Reading one batch-progress entry: the delay table (applies, does not apply, unreadable) and
the entry's other fields."""

from __future__ import annotations

from typing import Any

import pytest

from drs_pause_operator.drs import JobProgress as ExportedJobProgress
from drs_pause_operator.drs.client import JobProgress as ClientJobProgress
from drs_pause_operator.drs.progress import (
    MAX_DELAY_SECONDS,
    JobProgress,
    job_progress,
    parse_delay,
)

JOB = "8d0e8e36-a618-490d-8a46-8c61ac9jb502"
MISSING = object()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0),
        ("5", 5),
        ("007", 7),
        ("86400", 86_400),
        (0, 0),
        (42, 42),
        (42.0, 42),
        (str(MAX_DELAY_SECONDS), MAX_DELAY_SECONDS),
    ],
)
def test_whole_seconds_are_the_delay(value: Any, seconds: int) -> None:
    assert parse_delay(value) == seconds
    assert type(parse_delay(value)) is int


@pytest.mark.parametrize("value", [None, "", "-1", -1, -1.0])
def test_values_that_mean_it_does_not_apply(value: Any) -> None:
    assert parse_delay(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "1.5e9x",
        "1.5",
        "1e3",
        "0x10",
        "+5",
        " 5",
        "5 ",
        "5\n",
        " ",
        "-2",
        "-1.0",
        "--1",
        "NaN",
        "١٢",  # digits, but not ASCII ones
        "9" * 13,
        str(MAX_DELAY_SECONDS + 1),
        -2,
        -0.5,
        1.5,
        float("nan"),
        float("inf"),
        10**30,
        True,
        False,
        {},
        {"seconds": 5},
        [],
        ["5"],
    ],
)
def test_anything_else_is_refused_naming_the_value(value: Any) -> None:
    with pytest.raises(ValueError, match=r"incre_trans_delay .* is not a whole number of seconds"):
        parse_delay(value)


def test_a_long_value_is_shortened_in_the_message() -> None:
    with pytest.raises(ValueError) as caught:
        parse_delay("x" * 500)
    assert len(str(caught.value)) < 100


def _entry(**fields: Any) -> dict[str, Any]:
    entry = {
        "job_id": JOB,
        "progress": "100",
        "incre_trans_delay": "30",
        "incre_trans_delay_millis": "30000",
        "task_mode": "FULL_INCR_TRANS",
        "transfer_status": "PAUSING",
        "apply_rows_rate": 0,
    }
    for name, value in fields.items():
        if value is MISSING:
            entry.pop(name, None)
        else:
            entry[name] = value
    return entry


def test_a_full_entry() -> None:
    assert job_progress(_entry()) == JobProgress(
        job_id=JOB,
        delay_seconds=30,
        transfer_status="PAUSING",
        task_mode="FULL_INCR_TRANS",
        progress="100",
    )


@pytest.mark.parametrize("delay", [MISSING, None, "", "-1", -1])
def test_a_delay_that_does_not_apply_is_none_without_error(delay: Any) -> None:
    entry = _entry(incre_trans_delay=delay, transfer_status="FULL_TRANSFER_STARTED")
    progress = job_progress(entry)
    assert progress is not None
    assert progress.delay_seconds is None and progress.protocol_error is None


@pytest.mark.parametrize("delay", ["abc", "1.5e9x", -5, True, {"s": 1}])
def test_an_unreadable_delay_is_that_jobs_protocol_error(delay: Any) -> None:
    progress = job_progress(_entry(incre_trans_delay=delay))
    assert progress is not None
    assert progress.delay_seconds is None
    assert progress.protocol_error and "incre_trans_delay" in progress.protocol_error
    assert progress.transfer_status == "PAUSING"  # the rest is still read


def test_an_unknown_job() -> None:
    entry = {"job_id": JOB, "error_code": "DRS.M05003", "error_msg": "Task information not found."}
    assert job_progress(entry) == JobProgress(
        job_id=JOB, error_code="DRS.M05003", error_message="Task information not found."
    )


def test_text_fields() -> None:
    progress = job_progress(_entry(progress=50, error_code="", error_msg=None))
    assert progress is not None
    assert (progress.progress, progress.error_code, progress.error_message) == ("50", None, None)
    odd = job_progress(_entry(transfer_status={"state": "PAUSING"}, task_mode=["FULL_TRANS"]))
    assert odd is not None
    assert (odd.transfer_status, odd.task_mode, odd.delay_seconds) == (None, None, 30)
    assert odd.protocol_error is not None
    assert "transfer_status" in odd.protocol_error and "task_mode" in odd.protocol_error


@pytest.mark.parametrize(
    "entry", ["junk", None, 5, [JOB], {}, {"job_id": ""}, {"job_id": 7}, {"id": JOB}]
)
def test_an_entry_that_names_no_job_is_ignored(entry: Any) -> None:
    assert job_progress(entry) is None


def test_job_progress_is_importable_where_the_client_is() -> None:
    assert ExportedJobProgress is ClientJobProgress is JobProgress
