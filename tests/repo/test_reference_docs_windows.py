"""docs/reference.md covers DrsPauseWindow as test_reference_docs.py covers DrsJobPause: every
property of its CRD and every reason a window writes in a condition or an Event."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .test_reference_docs import crd_paths, documented, reference, undocumented

ROOT = Path(__file__).resolve().parents[2]
CRD = ROOT / "crds" / "drspausewindows.drs.cloudops.dev.yaml"
SOURCES = [ROOT / "operator" / "drs_pause_operator" / p
           for p in ("resource/window.py", "resource/window_spec.py", "resource/window_skips.py",
                     "resource/exclusions.py", "resource/schedule.py", "engine/window_pass.py")]


def test_every_window_crd_field_is_documented() -> None:
    (version,) = yaml.safe_load(CRD.read_text())["spec"]["versions"]
    paths = crd_paths(version["schema"]["openAPIV3Schema"])
    assert "status.lastRun.phase" in paths and "spec.template.projectId" in paths
    missing = undocumented(paths, reference())
    assert not missing, f"fields of {CRD.name} missing from docs/reference.md: {missing}"


def window_reasons() -> set[str]:
    text = "\n".join(p.read_text() for p in SOURCES)
    reasons = set(re.findall(r"(?:ScheduleError|WindowSpecError)\(\s*\"([A-Za-z]+)\"", text))
    # Ready reasons and Event reasons: a quoted CamelCase word first in a tuple.
    reasons |= set(re.findall(r"\(\s*\"(?:Normal|Warning)\",\s*\"([A-Za-z]+)\"", text))
    reasons |= set(re.findall(r"ready = \(\s*\"([A-Za-z]+)\"", text))
    condition = r"\(\"(?:Ready|Stalled)\", \"(?:True|False)\", \"([A-Za-z]+)\""
    reasons |= set(re.findall(condition, text))
    return reasons


def test_every_window_reason_is_documented() -> None:
    reasons = window_reasons()
    assert {"InvalidSchedule", "UnknownTimeZone", "InvalidTemplate", "WindowSkipped",
            "WindowStarted", "WaitingForPrevious", "Scheduled", "ChildRejected",
            "InvalidExclusion"} <= reasons
    text = reference()
    missing = sorted(r for r in reasons if not documented(r, text))
    assert not missing, f"window reasons missing from docs/reference.md: {missing}"
