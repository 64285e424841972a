"""kopf retries API errors without end (engine/startup.py): a watcher must not give up while
the API server or etcd is down for longer than a finite backoff list lasts."""

from __future__ import annotations

import itertools
from collections.abc import Sized

import kopf

from drs_pause_operator.engine.startup import configure_kopf


def test_every_request_gets_a_fresh_endless_backoff():
    settings = kopf.OperatorSettings()
    configure_kopf(settings)
    backoffs = settings.networking.error_backoffs
    # kopf counts attempts with len() when it can, and stops when the iterator runs out.
    assert not isinstance(backoffs, Sized)
    first = list(itertools.islice(iter(backoffs), 1000))
    assert first[:4] == [1.0, 2.0, 5.0, 10.0] and len(first) == 1000 and max(first) == 10.0
    # Not a shared generator: a second request starts from the beginning again.
    assert next(iter(backoffs)) == 1.0
