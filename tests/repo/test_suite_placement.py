"""The suite's placement lists (tests/conftest.py) name test modules that exist, and the queue
puts the exclusive tests first, the waiting ones right after them, and then the longest.

A module renamed without its entry would silently lose its place: an exclusive test sharing the
machine it needs alone, or a waiting one holding the lock it was meant to stay out of.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.conftest import EXCLUSIVE, ONE_WORKER, TESTS, WAITING, _queue_rank


@pytest.mark.parametrize("module", [*EXCLUSIVE, *WAITING, *ONE_WORKER])
def test_every_placed_module_exists(module: str) -> None:
    assert (TESTS / module).is_file(), f"tests/conftest.py places {module}, which is not there"


def test_no_module_is_both_exclusive_and_waiting() -> None:
    assert not set(EXCLUSIVE) & set(WAITING)
    assert not (set(EXCLUSIVE) | set(WAITING)) & set(ONE_WORKER)


@dataclass
class Item:
    """The two things the queue looks at: the node id and the marks."""

    nodeid: str
    marks: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.marks else None


def test_the_queue_order() -> None:
    items = [
        Item("tests/unit/engine/test_workqueue.py::test_x"),
        Item("tests/e2e/test_smoke.py::test_x"),
        Item("tests/e2e/test_operator.py::test_killed", {"slow"}),
        Item("tests/e2e/test_outages.py::test_x", {"slow"}),
        Item("tests/e2e/test_chaos.py::test_x", {"slow", "exclusive"}),
    ]
    ranked = sorted(items, key=_queue_rank)
    assert [i.nodeid.split("::")[0].split("/")[-1] for i in ranked] == [
        "test_chaos.py", "test_outages.py", "test_operator.py", "test_smoke.py",
        "test_workqueue.py",
    ]
