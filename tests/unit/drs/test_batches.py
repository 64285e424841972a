"""Pause and resume batching: which whole-request rejections are worth splitting."""

from __future__ import annotations

from drs_pause_operator.drs.batches import splittable
from drs_pause_operator.drs.errors import make_response_error


def test_splittable() -> None:
    assert splittable(make_response_error(400, "DRS.M00289"))
    assert splittable(make_response_error(400, None))
    assert splittable(make_response_error(413, None))
    assert not splittable(make_response_error(404, "APIGW.0101"))
    assert not splittable(make_response_error(403, "DRS.M00261"))
    assert not splittable(make_response_error(503, None))
