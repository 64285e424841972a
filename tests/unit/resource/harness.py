"""A harness that applies the plans of ``resource.window.plan`` as the engine does: children in a
dict, the status kept, Events listed, and a clock that moves only when told."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from drs_pause_operator.resource.window import Plan, WindowMeta, child_of, plan

from ..engine.fakes import PROJECT

UTC = dt.UTC
CREATED = dt.datetime(2026, 5, 4, 9, 58, 30, tzinfo=UTC)
TEMPLATE = {"projectId": PROJECT, "jobs": [{"jobId": "a1b2c3d4-0000-0000-0000-000000000001",
                                            "pauseMode": "target"}]}


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@dataclass
class Harness:
    """One window and its children; :meth:`run` is one pass, applied."""

    spec: dict[str, Any]
    now: dt.datetime
    meta: WindowMeta = field(
        default_factory=lambda: WindowMeta("team-a", "nightly", "w-uid", 1, CREATED))
    status: dict[str, Any] = field(default_factory=dict)
    children: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    last: Plan | None = None

    def run(self) -> Plan:
        kids = [c for c in (child_of(b, self.meta.uid) for b in self.children.values()) if c]
        p = plan(self.meta, self.spec, self.status, kids, self.now)
        if p.create is not None:
            name = p.create["metadata"]["name"]
            meta = {**p.create["metadata"], "uid": f"uid-{name}"}
            self.children[name] = {**p.create, "metadata": meta}
            self.created.append(name)
        for child in p.delete:
            self.children.pop(child.name, None)
            self.deleted.append(child.name)
        self.status = p.status
        self.events.extend(p.events)
        self.last = p
        return p

    def at(self, *args: int) -> Plan:
        self.now = utc(*args)
        return self.run()

    def set_phase(self, name: str, phase: str) -> None:
        self.children[name] = {**self.children[name], "status": {"phase": phase}}

    def annotate(self, token: str | None) -> None:
        m = self.meta
        self.meta = WindowMeta(m.namespace, m.name, m.uid, m.generation, m.created, token)

    def reasons(self) -> list[str]:
        return [e[1] for e in self.events]

    def ready(self) -> dict[str, Any]:
        return {c["type"]: c for c in self.status["conditions"]}["Ready"]

    def skipped(self) -> list[tuple[str, str]]:
        return [(s["time"], s["reason"]) for s in self.status.get("skippedStarts", [])]


def window(now: dt.datetime = CREATED + dt.timedelta(seconds=5), **spec: Any) -> Harness:
    return Harness({"schedule": "0 10 * * *", "duration": "2h", "template": TEMPLATE, **spec},
                   now)
