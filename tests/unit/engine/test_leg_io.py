"""The I/O of one verb's legs in a pass (engine/leg_io.py), through the operator's real pass
with a scripted gateway, for both verbs: what a pass looks up and sends is what the legs' steps
say is due, and nothing else. Each check counts the requests the gateway was asked to send
(whatever their answers)."""

from __future__ import annotations

from typing import Any

import pytest

from drs_pause_operator.drs.outcomes import PauseOutcome
from drs_pause_operator.resource.job import Job
from drs_pause_operator.resource.policy import POLL_MAX
from drs_pause_operator.resource.verbs import ACCEPTED, PAUSE, PENDING, RESUME, Verb

from ..values import J1, NOW, Task, at, on
from .fakes import Clock, Pass, ScriptedGateway, one_pass, spec_dict

pytestmark = pytest.mark.parametrize("verb", [PAUSE, RESUME], ids=["pause", "resume"])

# A task state that is the verb's goal, and one before it.
GOAL = {"pause": "PAUSING", "resume": "INCRE_TRANSFER_STARTED"}
HELD = {"pause": "INCRE_TRANSFER_STARTED", "resume": "PAUSING"}
SEND = {"pause": "pause", "resume": "resume"}  # the gateway call that sends the verb


def answering(state: str | None) -> Any:
    """batch-status answering this state for every job asked about (None: for none of them)."""
    return lambda ids: {} if state is None else {i: Task(i, state) for i in ids}


def accepting(items: list[Any]) -> dict[str, PauseOutcome]:
    """A send answered success for each job (pause: PauseInfo items; resume: job ids)."""
    ids = [i if isinstance(i, str) else i.job_id for i in items]
    return {i: PauseOutcome(job_id=i, api_status="success", attempts=1) for i in ids}


def gateway(verb: Verb, checks: str | None, verify: str | None = None) -> ScriptedGateway:
    """A DRS that answers lookups with ``checks`` (before a send) and ``verify`` (after it),
    and accepts whatever it is sent."""
    send = {SEND[verb.name]: accepting}
    return ScriptedGateway(checks=answering(checks), verify=answering(verify or GOAL[verb.name]),
                           **send)


def sends_of(gw: ScriptedGateway, verb: Verb, job_id: str = J1) -> int:
    """Requests of the verb's DRS call that carried ``job_id`` (sent, whatever the answer)."""
    return sum(job_id in ids for ids in gw.sent(SEND[verb.name]))


def status_of(job: Job) -> dict[str, Any]:
    return {"jobs": [job.to_dict()]}


async def run(gw: ScriptedGateway, status: dict[str, Any], clock: Clock) -> Pass:
    return await one_pass(gw, spec_dict(J1), status, clock=clock)


# --- a lookup that leaves the job out ---------------------------------------------------------


@pytest.mark.parametrize("then", ["goal", "held"])
async def test_a_precheck_that_leaves_the_job_out_does_not_send_it(verb: Verb, then: str) -> None:
    """A leg whose request may have gone out before (attempts > 0, still Pending: a restart
    cut the pass off after its write-ahead) is looked up first. A lookup that answers for other
    jobs only, or for none, says nothing about it: it is not sent in that pass, but looked up
    again later; an answer then decides (there already: never sent; not yet: sent once)."""
    clock = Clock(NOW)
    written_ahead = on(verb, attempts=1, last_attempt_time=at(-60))
    gw = gateway(verb, checks=None)
    p = await run(gw, status_of(written_ahead), clock)
    assert gw.sent("checks") == [[J1]]
    assert sends_of(gw, verb) == 0, gw.log
    entry = p.job(J1)
    assert entry[verb.key("phase")] == PENDING and entry[verb.key("attempts")] == 1
    assert entry[verb.key("nextAttemptTime")] == "2026-11-28T10:00:10Z"
    assert p.wake == pytest.approx(POLL_MAX)

    # The next pass before then sends and looks up nothing.
    clock.advance(POLL_MAX - 1)
    idle = gateway(verb, checks=None)
    p2 = await run(idle, p.status, clock)
    assert idle.log == [] and p2.result.drs_calls == 0

    clock.advance(1)
    state = GOAL[verb.name] if then == "goal" else HELD[verb.name]
    gw2 = gateway(verb, checks=state)
    p3 = await run(gw2, p.status, clock)
    assert gw2.sent("checks") == [[J1]]
    if then == "goal":
        assert sends_of(gw2, verb) == 0 and p3.job(J1)[verb.key("phase")] == verb.done
    else:
        assert sends_of(gw2, verb) == 1 and p3.job(J1)[verb.key("attempts")] == 2
        assert p3.job(J1)[verb.key("phase")] == verb.done  # accepted, then verified
    assert sends_of(gw, verb) + sends_of(gw2, verb) == (0 if then == "goal" else 1)


async def test_a_job_never_sent_is_sent_without_a_lookup(verb: Verb) -> None:
    clock = Clock(NOW)
    fresh = on(verb)
    gw = gateway(verb, checks=None)
    p = await run(gw, status_of(fresh), clock)
    assert gw.sent("checks") == [] and sends_of(gw, verb) == 1
    assert p.job(J1)[verb.key("phase")] == verb.done


# --- a leg waiting for its next attempt -------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "attempts", "accepted"),
    [(PENDING, 0, None), (PENDING, 3, None), (ACCEPTED, 1, -5)],
    ids=["postponed", "backing-off", "polling"],
)
@pytest.mark.parametrize("ahead", [1, 30])
async def test_a_leg_waiting_for_its_next_attempt_is_neither_looked_up_nor_sent(
    verb: Verb, phase: str, attempts: int, accepted: float | None, ahead: float
) -> None:
    """Pass after pass (watch events of the pass's own writes, timers, a resync), a leg whose
    next attempt time lies ahead costs DRS nothing; when it comes, the leg goes."""
    clock = Clock(NOW)
    waiting = on(verb, phase=phase, attempts=attempts, next_attempt_time=at(ahead),
                 accepted_time=None if accepted is None else at(accepted),
                 transient_failures=attempts)
    status = status_of(waiting)
    for _ in range(3):
        gw = gateway(verb, checks=HELD[verb.name])
        p = await run(gw, status, clock)
        assert gw.log == [] and p.result.drs_calls == 0, gw.log
        assert p.wake == pytest.approx((at(ahead) - clock.now).total_seconds())
        status = p.status
        clock.advance(ahead / 4)
    clock.now = at(ahead)
    gw = gateway(verb, checks=HELD[verb.name])
    p = await run(gw, status, clock)
    assert p.result.drs_calls >= 1
    if attempts:
        assert gw.sent("checks") == [[J1]]  # looked up first
    else:
        assert sends_of(gw, verb) == 1
