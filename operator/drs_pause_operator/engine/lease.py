"""The pure half of leader election: the Lease as read, this process's observation of it, and
what to write (client-go's ``tools/leaderelection`` rules; ``engine/leader.py`` is the I/O).
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease as read: its spec and its resourceVersion."""

    holder: str
    lease_duration: int
    acquire_time: str | None
    renew_time: str | None
    transitions: int
    resource_version: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> LeaseRecord:
        spec = body.get("spec") or {}
        return cls(
            holder=spec.get("holderIdentity") or "",
            lease_duration=int(spec.get("leaseDurationSeconds") or 0),
            acquire_time=spec.get("acquireTime"),
            renew_time=spec.get("renewTime"),
            transitions=int(spec.get("leaseTransitions") or 0),
            resource_version=str((body.get("metadata") or {}).get("resourceVersion") or ""),
        )

    @property
    def key(self) -> tuple[object, ...]:
        """What must change for the record to count as renewed (the resourceVersion too)."""
        return (self.holder, self.lease_duration, self.acquire_time, self.renew_time,
                self.transitions, self.resource_version)


@dataclass(frozen=True)
class Observation:
    """A record and the local monotonic time at which this process first saw it."""

    record: LeaseRecord
    at: float


def observe(previous: Observation | None, record: LeaseRecord, now: float) -> Observation:
    """The observation after reading ``record`` at ``now``: unchanged records keep their time."""
    if previous is not None and previous.record.key == record.key:
        return previous
    return Observation(record, now)


class Action(enum.Enum):
    CREATE = "create"  # no Lease yet
    ACQUIRE = "acquire"  # free or expired: take it over (leaderTransitions + 1)
    RENEW = "renew"  # mine: write a new renewTime
    WAIT = "wait"  # another candidate holds a valid lease


def decide(observation: Observation | None, now: float, me: str) -> Action:
    """What to do with the Lease as observed (None: it does not exist)."""
    if observation is None:
        return Action.CREATE
    record = observation.record
    if record.holder == me:
        return Action.RENEW
    if record.holder and observation.at + record.lease_duration > now:
        return Action.WAIT
    return Action.ACQUIRE


def expired_leadership(last_renewed: float, now: float, renew_deadline: float) -> bool:
    """Must the leader stop? ``last_renewed``: when its last successful renewal was sent."""
    return now - last_renewed >= renew_deadline


def micro_time(when: dt.datetime) -> str:
    """A Kubernetes MicroTime: RFC 3339 in UTC with exactly six fractional digits."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def desired_spec(
    action: Action, record: LeaseRecord | None, me: str, wall: dt.datetime, lease_duration: int
) -> dict[str, Any]:
    """The Lease spec to write for ``action`` (not WAIT)."""
    now = micro_time(wall)
    spec: dict[str, Any] = {
        "holderIdentity": me,
        "leaseDurationSeconds": lease_duration,
        "acquireTime": now,
        "renewTime": now,
        "leaseTransitions": 0,
    }
    if record is not None:
        if action is Action.RENEW:
            spec["acquireTime"] = record.acquire_time or now
            spec["leaseTransitions"] = record.transitions
        else:
            spec["leaseTransitions"] = record.transitions + 1
    return spec


def released_spec(record: LeaseRecord, wall: dt.datetime) -> dict[str, Any]:
    """client-go's release: no holder, a one-second lease, the transitions kept."""
    now = micro_time(wall)
    return {
        "holderIdentity": "",
        "leaseDurationSeconds": 1,
        "acquireTime": now,
        "renewTime": now,
        "leaseTransitions": record.transitions,
    }


def default_identity() -> str:
    """The pod's name (HOSTNAME) and a random suffix: a restarted container is a new holder."""
    host = os.environ.get("HOSTNAME") or socket.gethostname() or "drs-pause-operator"
    return f"{host}_{uuid.uuid4().hex[:10]}"


def default_namespace(
    path: Path = SERVICE_ACCOUNT_NAMESPACE, environ: dict[str, str] | None = None
) -> str:
    """The pod's namespace (its ServiceAccount mount), else POD_NAMESPACE, else ``default``."""
    try:
        found = path.read_text().strip()
    except OSError:
        found = ""
    env = os.environ if environ is None else environ
    return found or (env.get("POD_NAMESPACE") or "").strip() or "default"


