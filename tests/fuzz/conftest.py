"""Fixtures for fuzzing the DRS simulator: one simulator process for the package, on 127.0.0.1.

Unknown job ids are answered per job (``--not-found per-job``), so a request that is valid by the
published schema gets a 200 and an invalid one a 4xx: the fuzzer can tell them apart. The cap on
jobs per request is lowered to FUZZ_MAX_JOBS (the published schema follows it), so boundary
cases stay small.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drs_pause_operator.dev.simulator.testing import SimulatorProcess

TOKEN = "fuzz-static-token-4c1d"
FUZZ_MAX_JOBS = 5


@pytest.fixture(scope="session")
def fuzz_simulator() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(["--token", TOKEN, "--not-found", "per-job", "--seed", "11",
                           "--log-level", "WARNING"]) as sim:
        sim.configure(max_jobs=FUZZ_MAX_JOBS)
        yield sim
