"""Setting conditions (resource/conditions.py): observedGeneration on each, lastTransitionTime
kept unless the status flips, messages bounded."""

from __future__ import annotations

from drs_pause_operator.resource.conditions import condition, merge_conditions, set_condition
from drs_pause_operator.resource.formats import MAX_MESSAGE

from ..values import NOW, at


def test_merge_conditions_keeps_transition_time_unless_status_flips() -> None:
    first = merge_conditions(None, [("Ready", "False", "Pending", "0 of 1")], 1, NOW)
    assert first == [
        {
            "type": "Ready",
            "status": "False",
            "reason": "Pending",
            "message": "0 of 1",
            "observedGeneration": 1,
            "lastTransitionTime": "2026-11-28T10:00:00Z",
        }
    ]
    # Same status, new reason, message and generation: the time stays.
    same = merge_conditions(first, [("Ready", "False", "InProgress", "1 of 2")], 2, at(60))
    assert same[0]["lastTransitionTime"] == "2026-11-28T10:00:00Z"
    assert same[0]["observedGeneration"] == 2
    assert (same[0]["reason"], same[0]["message"]) == ("InProgress", "1 of 2")
    flipped = merge_conditions(same, [("Ready", "True", "Paused", "2 of 2")], 2, at(120))
    assert flipped[0]["lastTransitionTime"] == "2026-11-28T10:02:00Z"


def test_merge_conditions_lists_the_new_order_and_drops_types_no_longer_set() -> None:
    old = merge_conditions(None, [("Ready", "False", "a", ""), ("Stalled", "True", "b", ""),
                                  ("Reconciling", "False", "c", "")], 1, NOW)
    new = merge_conditions(old, [("Ready", "False", "a", ""), ("Reconciling", "True", "c", "")],
                           1, at(5))
    assert [c["type"] for c in new] == ["Ready", "Reconciling"]
    assert [c["lastTransitionTime"] for c in new] == ["2026-11-28T10:00:00Z",
                                                      "2026-11-28T10:00:05Z"]


def test_merge_conditions_tolerates_junk_and_missing_times() -> None:
    old = ["junk", {"type": "Ready", "status": "False"}, {"status": "True"}]
    out = merge_conditions(old, [("Ready", "False", "x", "y")], 3, NOW)
    assert out[0]["lastTransitionTime"] == "2026-11-28T10:00:00Z"


def test_condition_messages_are_bounded() -> None:
    out = merge_conditions(None, [("Stalled", "True", "X", "a\nb" * 100_000)], 1, NOW)
    assert len(out[0]["message"]) <= MAX_MESSAGE
    assert "\n" not in out[0]["message"]


def test_set_condition_against_the_previous_one() -> None:
    fresh = set_condition(None, "Ready", "True", "Paused", "1 of 1", 4, NOW)
    assert fresh["lastTransitionTime"] == "2026-11-28T10:00:00Z"
    assert fresh["observedGeneration"] == 4
    kept = set_condition(fresh, "Ready", "True", "Resumed", "done", 5, at(60))
    assert kept["lastTransitionTime"] == "2026-11-28T10:00:00Z" and kept["reason"] == "Resumed"
    moved = set_condition(kept, "Ready", "False", "Resuming", "", 5, at(60))
    assert moved["lastTransitionTime"] == "2026-11-28T10:01:00Z"


def test_condition_lookup() -> None:
    s = {"conditions": merge_conditions(None, [("Ready", "False", "Pending", "")], 1, NOW)}
    c = condition(s, "Ready")
    assert c is not None and c["type"] == "Ready"
    assert condition(s, "Nope") is None
    assert condition(None, "Ready") is None
    assert condition({"conditions": ["junk"]}, "Ready") is None
    assert condition({"conditions": None}, "Ready") is None
