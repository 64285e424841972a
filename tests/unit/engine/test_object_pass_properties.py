"""Property tests: arbitrary DRS answers folded through the operator's real reconcile pass
(``engine.object_pass.Reconciler``, with a scripted gateway and an in-memory Kubernetes writer).

Whatever DRS (or something pretending to be DRS) answers, a pass never raises, every job stays
in one of the four phases, the status stays bounded and serialisable, and a job is only ever
Paused on evidence: a batch-status answer of PAUSING/PAUSEING for that job, or (verification
off) a pause answer of "success" (in any letter case, as the client reads it).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.verbs import ACCEPTED, FAILED, PAUSED, PENDING

from ..strategies import JOB_IDS, PAUSED_WORDS, send_map, task_map
from ..values import NOW, assert_well_formed
from .fakes import Clock, ScriptedGateway, one_pass, spec_dict

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

step = st.fixed_dictionaries(
    {
        "advance": st.integers(0, 900),
        "after_pause": st.integers(0, 5),
        "modes": st.lists(st.sampled_from(["target", "all"]), min_size=4, max_size=4),
        "count": st.integers(1, 4),
        "retry_token": st.sampled_from([None, "a", "b"]),
        "checks": task_map,
        "pause": send_map,
        "verify": task_map,
    }
)


def _evidence(answers: dict[str, Any]) -> set[str]:
    return {k for k, a in answers.items() if a.status in PAUSED_WORDS}


@SETTINGS
@given(
    steps=st.lists(step, min_size=1, max_size=5),
    verify_timeout=st.sampled_from([0.0, 30.0, 600.0]),
    seed=st.integers(0, 2**16),
)
def test_any_answers_fold_safely_and_pause_only_on_evidence(
    steps: list[dict[str, Any]], verify_timeout: float, seed: int
) -> None:
    policy = Policy(verify_timeout=verify_timeout)
    status: dict[str, Any] | None = None
    clock = Clock(NOW)
    evidence: set[str] = set()
    for s in steps:
        clock.advance(s["advance"])
        ids = JOB_IDS[: s["count"]]
        spec = spec_dict(*zip(ids, s["modes"], strict=False))

        def checks(asked: list[str], s: dict[str, Any] = s) -> dict[str, Any]:
            evidence.update(_evidence(s["checks"]))
            return s["checks"]

        def verify(asked: list[str], s: dict[str, Any] = s) -> dict[str, Any]:
            evidence.update(_evidence(s["verify"]))
            return s["verify"]

        def pause(infos: list[Any], s: dict[str, Any] = s) -> dict[str, Any]:
            if verify_timeout <= 0:
                evidence.update(
                    k for k, a in s["pause"].items()
                    if (a.api_status or "").strip().lower() == "success"
                )
            return s["pause"]

        gateway = ScriptedGateway(
            checks=checks,
            pause=pause,
            verify=verify,
            on_pause=lambda s=s: clock.advance(s["after_pause"]),
        )
        before = {e["jobId"]: e for e in (status or {}).get("jobs", [])}
        result = asyncio.run(
            one_pass(
                gateway,
                spec,
                status,
                clock=clock,
                policy=policy,
                retry_token=s["retry_token"],
                seed=seed,
            )
        )
        seen = {"checks": gateway.sent("checks"), "pause": gateway.sent("pause")}
        assert_well_formed(result.status)
        assert [e["jobId"] for e in result.status["jobs"]] == ids
        for entry in result.status["jobs"]:
            event(f"phase {entry['phase']}")
            assert "resumePhase" not in entry  # no spec.resume: no resume leg ever begins
            if entry["phase"] == PAUSED:
                assert entry["jobId"] in evidence, entry
            old = before.get(entry["jobId"])
            if old and old["phase"] == PAUSED:
                assert entry["phase"] == PAUSED  # Paused is for good
        # A finished job is never sent or looked up.
        finished = {
            e["jobId"]
            for e in before.values()
            if e["phase"] in (PAUSED, FAILED)
            and e["pauseMode"] == dict(zip(ids, s["modes"], strict=False)).get(e["jobId"])
        }
        if s["retry_token"] is None or s["retry_token"] == (status or {}).get("retryFailedToken"):
            for asked in seen["checks"] + seen["pause"]:
                assert not finished & set(asked)
        # The next pass is scheduled whenever something is still open.
        active = [e for e in result.status["jobs"] if e["phase"] in (PENDING, ACCEPTED)]
        assert (result.wake is None) == (not active)
        assert result.wake is None or result.wake >= 0
        status = result.status
