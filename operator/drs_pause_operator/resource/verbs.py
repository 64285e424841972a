"""The actions the operator takes on a task, as data: what differs between a pause and a resume.

Both run the same loop (``resource/legs.py`` decides, ``engine/leg_io.py`` does the I/O): look
the task up, write the attempt ahead, send, fold the per-job answers in, verify with
batch-status, back off on transient answers. A :class:`Verb` says what is particular to one
action: the DRS call, which task state means done, the status field prefix of its leg, and the
words of its messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Leg phases shared by every verb ("" = the leg has not begun)
PENDING, ACCEPTED, FAILED = "Pending", "Accepted", "Failed"
# Leg phases of one verb
PAUSED = "Paused"
RESUMED, SKIPPED = "Resumed", "Skipped"
#: A resume verified (the task left PAUSING) whose task has not caught up yet (spec.resume.catchUp)
CATCHING_UP = "CatchingUp"

#: "This API cannot be called in the current task status": for a pause, maybe paused already;
#: for a resume, maybe resumed already. batch-status decides.
NOT_NOW = "DRS.M00304"
NOT_FOUND_CODES = frozenset({"DRS.M05003", "DRS.M00289"})
PAUSED_STATES = frozenset({"PAUSING", "PAUSEING"})  # one OTC page spells it PAUSEING
# States after which a task cannot become PAUSING, or leave it, any more: stop waiting at once.
GONE_STATES = frozenset(
    {
        "DELETED",
        "RELEASE_RESOURCE_STARTED",
        "RELEASE_RESOURCE_COMPLETE",
        "RELEASE_RESOURCE_FAILED",
    }
)


def _paused(state: str) -> bool:
    return state in PAUSED_STATES


def _running_again(state: str) -> bool:
    return bool(state) and state not in PAUSED_STATES and state not in GONE_STATES


@dataclass(frozen=True)
class Verb:
    name: str
    #: The DRS call that sends it (the gateway method of the same name sends it).
    api: str
    #: Status field prefix of this verb's leg in ``status.jobs[]``: ``""`` gives ``phase``,
    #: ``attempts``...; ``"resume"`` gives ``resumePhase``, ``resumeAttempts``...
    prefix: str
    #: The phase of a leg whose task reached the goal.
    done: str
    #: Every phase a leg of this verb may be in (anything else in a status reads as ``initial``).
    phases: tuple[str, ...]
    #: A leg's phase before anything happened: a pause is wanted from the start (Pending); a
    #: resume has no phase until it begins (and writes no fields until then).
    initial: str
    #: Does the task state batch-status shows mean the action is done?
    reached: Callable[[str], bool]
    #: Words for messages: "waiting for PAUSING", "resuming".
    waiting: str
    #: Words for an expired leg: "did not reach PAUSING within", "was still PAUSING after".
    missed: str
    #: The pause's leg records the API's own ``status`` answer (``apiStatus``); the resume's not.
    writes_api_status: bool

    def key(self, name: str) -> str:
        """The status field of this verb's leg for ``name`` (``attempts`` -> ``resumeAttempts``)."""
        return name if not self.prefix else self.prefix + name[0].upper() + name[1:]

    def expired(self, timeout: float, last_state: str, unseen_lookups: int | None) -> str:
        """Why an accepted leg failed: its task did not get there within ``timeout``."""
        why = f"last state: {last_state or 'unknown'}"
        if unseen_lookups is not None:
            why += f"; batch-status did not answer for it in {unseen_lookups} lookups"
        return f"the {self.name} was accepted but the task {self.missed} {timeout:g}s ({why})"


PAUSE = Verb(
    name="pause",
    api="batch-pause-task",
    prefix="",
    done=PAUSED,
    phases=(PENDING, ACCEPTED, PAUSED, FAILED),
    initial=PENDING,
    reached=_paused,
    waiting="while waiting for PAUSING",
    missed="did not reach PAUSING within",
    writes_api_status=True,
)
RESUME = Verb(
    name="resume",
    api="batch-retry-task",
    prefix="resume",
    done=RESUMED,
    phases=(PENDING, ACCEPTED, CATCHING_UP, RESUMED, FAILED, SKIPPED),
    initial="",
    reached=_running_again,
    waiting="while resuming",
    missed="was still PAUSING after",
    writes_api_status=False,
)
VERBS = (PAUSE, RESUME)
