"""Fault injection rules, added through ``POST /admin/faults``.

A rule matches an endpoint (``pause``, ``status``, ``retry`` (alias ``resume``), ``progress``,
``list``, ``token`` or ``*``) and optionally a job id present in the request. It fires
``times`` times (default 1; null = every time), each match with ``probability`` (default 1,
drawn from the simulator's seedable random generator).

Kinds:
- ``latency``: wait ``latency_ms`` before answering (stacks with other rules).
- ``http_error``: answer ``status`` with ``{"error_code", "error_msg"}`` when ``error_code`` is
  given, with ``body`` (any JSON) when given, else with no body.
- ``busy``: answer ``status`` (default 202) with a top-level ``error_code`` (default DRS.M01504)
  / ``error_msg`` and no ``results``: an "accepted" answer that is an error.
- ``rate_limit``: 429 with ``Retry-After: retry_after`` (seconds or an HTTP date; default 1).
- ``drop``: close the connection without answering.
- ``malformed``: 200 whose body is not valid JSON.
- ``timeout``: wait ``seconds`` (at most 300), then close the connection without answering.
- ``missing_results``: process, then leave results out of the body: ``omit`` = ``all``
  (``results: []``), ``some`` (a random non-empty part), ``key`` (no ``results`` key), or only the
  rule's ``job_id`` when set (on the list: ``jobs`` instead of ``results``).
- ``job_error``: the rule's job (every job of the request when no ``job_id``) answers failed with
  ``error_code`` (default DRS.M01504) / ``error_msg`` and is not changed.

``after_processing: true`` (http_error, busy, drop, malformed, timeout) applies the request first
and then misbehaves: a lost response after a pause that did happen.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import codes

Endpoint = Literal["pause", "status", "retry", "progress", "list", "token", "*"]
ENDPOINT_ALIASES = {"resume": "retry"}
FaultKind = Literal[
    "latency",
    "http_error",
    "busy",
    "rate_limit",
    "drop",
    "malformed",
    "timeout",
    "missing_results",
    "job_error",
]
# Kinds that replace the answer; the first matching one wins.
TERMINAL_KINDS = frozenset({"http_error", "busy", "rate_limit", "drop", "malformed", "timeout"})
AFTER_PROCESSING_KINDS = frozenset({"http_error", "busy", "drop", "malformed", "timeout"})
MAX_TIMEOUT_SECONDS = 300.0


class FaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    endpoint: Endpoint = "*"
    job_id: str | None = None
    times: int | None = Field(default=1, ge=1)
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    after_processing: bool = False
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    status: int = Field(default=500, ge=100, le=599)
    error_code: str | None = None
    error_msg: str | None = None
    body: Any = None
    retry_after: int | str | None = 1
    seconds: float = Field(default=60.0, gt=0, le=MAX_TIMEOUT_SECONDS)
    omit: Literal["all", "some", "key"] = "all"

    @field_validator("endpoint", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        return ENDPOINT_ALIASES.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        if self.kind == "latency" and self.latency_ms == 0:
            raise ValueError("latency needs latency_ms > 0")
        if self.kind == "job_error" and self.endpoint in {"token", "status", "progress", "list"}:
            raise ValueError("job_error applies to the pause and retry endpoints")
        if self.after_processing and self.kind not in AFTER_PROCESSING_KINDS:
            raise ValueError(
                "after_processing applies to http_error, busy, drop, malformed, timeout"
            )
        if self.kind == "busy" and "status" not in self.model_fields_set:
            self.status = 202
        return self

    def job_error_body(self, job_id: str) -> dict[str, str]:
        code = self.error_code or codes.BUSY
        return {
            "id": job_id,
            "status": "failed",
            "error_code": code,
            "error_msg": self.error_msg or codes.message(code),
        }


@dataclass
class ActiveFault:
    id: int
    rule: FaultRule
    fired: int = 0

    @property
    def remaining(self) -> int | None:
        return None if self.rule.times is None else self.rule.times - self.fired

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fired": self.fired,
            "remaining": self.remaining,
            **self.rule.model_dump(exclude_defaults=True),
            "kind": self.rule.kind,
        }


@dataclass
class Firing:
    """The rules that fire for one request."""

    latency_ms: int = 0
    terminal: FaultRule | None = None
    missing: list[FaultRule] = field(default_factory=list)
    job_errors: list[FaultRule] = field(default_factory=list)
    fired: list[ActiveFault] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        return [f.rule.kind for f in self.fired]

    def job_error_for(self, job_id: str) -> FaultRule | None:
        for rule in self.job_errors:
            if rule.job_id in (None, job_id):
                return rule
        return None


@dataclass
class FaultSet:
    rng: random.Random
    faults: list[ActiveFault] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add(self, rule: FaultRule) -> ActiveFault:
        active = ActiveFault(id=next(self._ids), rule=rule)
        self.faults.append(active)
        return active

    def clear(self) -> None:
        self.faults.clear()

    def list(self) -> list[dict[str, Any]]:
        return [f.to_dict() for f in self.faults]

    def fire(self, endpoint: str, job_ids: Iterable[str]) -> Firing:
        """Pick the rules that fire for a request and consume one of their ``times``."""
        present = set(job_ids)
        firing = Firing()
        for active in self.faults:
            rule = active.rule
            if rule.endpoint not in ("*", endpoint) or active.remaining == 0:
                continue
            if rule.job_id is not None and rule.job_id not in present:
                continue
            if rule.kind in TERMINAL_KINDS and firing.terminal is not None:
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            active.fired += 1
            firing.fired.append(active)
            if rule.kind == "latency":
                firing.latency_ms += rule.latency_ms
            elif rule.kind in TERMINAL_KINDS:
                firing.terminal = rule
            elif rule.kind == "missing_results":
                firing.missing.append(rule)
            else:
                firing.job_errors.append(rule)
        return firing
