"""A deliberately BROKEN operator, built on the test side: with this folder first on PYTHONPATH,
Python imports this module at start-up, and the operator it then runs never looks a Pending leg
up with batch-status before sending it again (only Accepted legs are looked up). After a
restart it re-sends the jobs whose pause may already have gone out.

Only tests/e2e/test_double_pause_detection.py puts it there, to prove that the double-pause
checks catch such an operator. The product itself has no switch for it.
"""

from __future__ import annotations

import sys

from drs_pause_operator.resource import legs
from drs_pause_operator.resource.verbs import PENDING

_due_checks = legs.due_checks


def _no_precheck(verb, jobs, now):  # type: ignore[no-untyped-def]
    jobs = list(jobs)
    pending = {j.job_id for j in jobs if j.leg(verb).phase == PENDING}
    return [i for i in _due_checks(verb, jobs, now) if i not in pending]


legs.due_checks = _no_precheck
print("BROKEN ON PURPOSE: no batch-status look before a re-send (tests/e2e/broken)",
      file=sys.stderr)
