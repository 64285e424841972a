"""Liveness that tells the truth about the one dead end kopf cannot leave by itself.

With cluster scanning off (startup.py), kopf resolves the resources to watch once, from the API
server's discovery, when it starts. If that discovery answers while the API server is restarting
(it serves ``/apis`` a moment before its CRD handlers are synced), drsjobpauses are missing from
it, kopf logs "Unresolved resources cannot be served" and never watches them: the process looks
alive and does nothing, for good. API errors after that are retried without end and recovered
from (startup.py), so this is the case in which the kubelet must restart the process: the
liveness probe (:func:`probe`, registered in handlers.py) fails from then on.
"""

from __future__ import annotations

import logging

import kopf

from drs_pause_operator.resource.spec import PLURAL

KOPF_OBSERVER = "kopf._core.reactor.observation"
UNRESOLVED = "Unresolved resources cannot be served"


class UnservedWatch(logging.Handler):
    """Notices kopf's warning that drsjobpauses could not be resolved (and so are not watched)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.unserved: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(UNRESOLVED) and f"'{PLURAL}'" in message:
            self.unserved = message

    def reset(self) -> None:
        """A new kopf run resolves its resources again."""
        self.unserved = None


DETECTOR = UnservedWatch()
logging.getLogger(KOPF_OBSERVER).addHandler(DETECTOR)


def probe() -> dict[str, str]:
    """The liveness probe's verdict: raises (HTTP 500 from kopf's endpoint) at the dead end."""
    if DETECTOR.unserved is not None:
        raise kopf.PermanentError(
            f"{PLURAL} are not watched and will not be until a restart: {DETECTOR.unserved}"
        )
    return {"watching": PLURAL}
