"""The liveness probe fails at the one dead end kopf cannot leave: drsjobpauses unresolved."""

from __future__ import annotations

import logging

import kopf
import pytest

from drs_pause_operator.engine import watchcheck

KOPF = logging.getLogger(watchcheck.KOPF_OBSERVER)


@pytest.fixture(autouse=True)
def fresh():
    watchcheck.DETECTOR.reset()
    yield
    watchcheck.DETECTOR.reset()


def test_ok_while_watching():
    assert watchcheck.probe() == {"watching": "drsjobpauses"}


def test_other_unresolved_resources_do_not_fail_it():
    KOPF.warning("Unresolved resources cannot be served (try creating their CRDs): "
                 "Selector(group='drs.cloudops.dev', version='v1alpha1', "
                 "any_name='drspausewindows')")
    assert watchcheck.probe()


def test_fails_for_good_once_drsjobpauses_are_unresolved():
    KOPF.warning("Unresolved resources cannot be served (try creating their CRDs): "
                 "Selector(group='drs.cloudops.dev', version='v1alpha1', "
                 "any_name='drspausewindows'), Selector(group='drs.cloudops.dev', "
                 "version='v1alpha1', any_name='drsjobpauses')")
    for _ in range(3):
        with pytest.raises(kopf.PermanentError, match="not watched"):
            watchcheck.probe()
    watchcheck.DETECTOR.reset()  # a new kopf run (on_startup) resolves again
    assert watchcheck.probe()
