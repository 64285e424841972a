"""A deliberately BROKEN operator, built on the test side: with this folder first on PYTHONPATH,
Python imports this module at start-up, and the operator it then runs drives the pause of an
object's jobs before it plans them: an object that should only plan (spec.dryRun, --dry-run)
sends pause requests.

Only tests/e2e/test_plans.py puts it there, to prove that its check of what a plan sends (the
simulator's count of pause and resume requests) catches such an operator. The product itself
has no switch for it.
"""

from __future__ import annotations

import sys

from drs_pause_operator.engine import object_pass
from drs_pause_operator.resource.verbs import PAUSE

_plan = object_pass.Reconciler._plan


async def _plan_that_sends(self, io, jobs):  # type: ignore[no-untyped-def]
    jobs, _problem = await io.drive(PAUSE, jobs)
    return await _plan(self, io, jobs)


object_pass.Reconciler._plan = _plan_that_sends  # type: ignore[method-assign]
print("BROKEN ON PURPOSE: a plan also drives the pause (tests/e2e/broken)", file=sys.stderr)
