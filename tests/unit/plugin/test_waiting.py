"""Following an object: pause --wait ends when it settled (following a resume due within the
wait), on a blocking problem or after the timeout; a plan is printed, its object deleted, and
every way it can fail says why and exits 1."""

from __future__ import annotations

import pytest

from drs_pause_operator.plugin import waiting

from .fakes import JOB, FakeCluster, job, later, planned, status

STALLED = {"type": "Stalled", "status": "True"}


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch) -> None:
    monkeypatch.setattr("drs_pause_operator.plugin.waiting.time.sleep", lambda _s: None)


def _created(cluster: FakeCluster) -> FakeCluster:
    cluster.create({"metadata": {"name": "n"}, "spec": {}})
    return cluster


def test_a_resume_due_after_the_wait_is_not_waited_for(capsys) -> None:
    cluster = _created(FakeCluster(status("Paused", [job()], resumeTime=later(7200)),
                                   status("Resuming", [job(resumePhase="Pending")])))
    assert waiting.watch(cluster, "n", 600, interval=0) == 0
    assert cluster.gets == 1
    assert "n: paused 1/1  failed 0  pending 0  (Paused)" in capsys.readouterr().err


def test_a_resume_due_within_the_wait_is_followed_to_its_end(capsys) -> None:
    cluster = _created(FakeCluster(
        status("Paused", [job()], resumeTime=later(30)),
        status("Paused", [job()], resumeTime=later(30)),
        status("Resuming", [job(resumePhase="Accepted")]),
        status("PartiallyResumed", [job(resumePhase="Failed", resumeErrorCode="CatchUpTimeout")]),
    ))
    assert waiting.watch(cluster, "n", 600, interval=0) == 1
    err = capsys.readouterr().err
    assert err.count("waiting for the resume") == 1 and "(PartiallyResumed)" in err
    assert cluster.gets == 4


def test_the_wait_ends_on_a_blocking_problem_or_the_timeout(capsys) -> None:
    stalled = status("Failed", [], conditions=[{**STALLED, "reason": "NoMatches",
                                                "message": "no DRS task matches"}])
    assert waiting.watch(_created(FakeCluster(stalled)), "n", 600, interval=0) == 1
    assert "n: NoMatches: no DRS task matches" in capsys.readouterr().err
    gated = status("InProgress", [job(JOB, "Pending", delaySeconds=432,
                                      delayTime="2026-11-28T09:59:00Z",
                                      delayGateSince="2026-11-28T09:55:00Z")])
    assert waiting.watch(_created(FakeCluster(gated)), "n", 0, interval=0) == 1
    assert ("timed out after 0s: paused 0/1  failed 0  pending 1  waiting for delay 1, "
            "largest 7m12s" in capsys.readouterr().err)


def test_the_wait_ends_when_the_object_is_gone(capsys) -> None:
    cluster = _created(FakeCluster(status("Paused", [job()]), missing=True))
    assert waiting.watch(cluster, "n", 600, interval=0) == 1
    assert "not found" in capsys.readouterr().err


def test_a_plan_that_cannot_come_says_why_and_is_deleted(capsys) -> None:
    cluster = FakeCluster(status("Planned", [], conditions=[
        {**STALLED, "reason": "CredentialsNotFound", "message": 'Secret "drs" not found'}]))
    assert waiting.plan(cluster, {"metadata": {"name": "p"}, "spec": {}}, 0, keep=False,
                        interval=0) == 1
    assert "p: no plan after 0s: CredentialsNotFound: Secret \"drs\" not found" in \
        capsys.readouterr().err
    assert cluster.deleted == ["p"]

    cluster = FakeCluster(status("Planned", [], conditions=[
        {**STALLED, "reason": "TooManyMatches", "message": "120 tasks match"}]))
    assert waiting.plan(cluster, {"metadata": {"name": "p"}, "spec": {}}, 600, keep=False,
                        interval=0) == 1
    assert "p: TooManyMatches: 120 tasks match" in capsys.readouterr().err
    assert cluster.gets == 1 and cluster.deleted == ["p"]


def test_a_plan_whose_object_cannot_be_deleted_exits_1(capsys) -> None:
    cluster = FakeCluster(planned(), refuse="delete")
    assert waiting.plan(cluster, {"metadata": {"name": "p"}, "spec": {}}, 60, keep=False,
                        interval=0) == 1
    captured = capsys.readouterr()
    assert "WouldPause" in captured.out  # the plan was printed
    assert "delete is forbidden" in captured.err


def test_an_operator_that_acts_instead_of_planning_ends_the_wait_at_once(capsys) -> None:
    cluster = FakeCluster(status("Pending", []), status("InProgress", [job(JOB, "Accepted")]),
                          planned())
    assert waiting.plan(cluster, {"metadata": {"name": "p"}, "spec": {}}, 600, keep=False,
                        interval=0) == 1
    assert ("p: the operator did not plan but sent jobs (phase InProgress); does it know "
            "spec.dryRun?" in capsys.readouterr().err)
    assert cluster.gets == 2 and cluster.deleted == ["p"]


def test_a_selection_problem_before_the_plan_is_not_taken_for_acting(capsys) -> None:
    """A selector that cannot be resolved leaves phase Failed without jobs: the plan may still
    come once the problem clears, so the wait goes on (here until the timeout)."""
    cluster = FakeCluster(status("Failed", [], conditions=[
        {**STALLED, "reason": "CredentialsNotFound", "message": "no Secret"}]))
    assert waiting.plan(cluster, {"metadata": {"name": "p"}, "spec": {}}, 0, keep=False,
                        interval=0) == 1
    assert "p: no plan after 0s: CredentialsNotFound: no Secret" in capsys.readouterr().err
