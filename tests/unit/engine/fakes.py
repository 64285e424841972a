"""Plain fakes around the real reconcile pass (``engine.object_pass.Reconciler``).

- :class:`FakeKube`: the Kubernetes writer. Status patches are stored and answered with the
  object at a new resourceVersion; Secrets come from a dict; Events are recorded.
- :class:`ScriptedGateway`: a DRS gateway whose answers a test chooses (any answer, also ones no
  server gives); :func:`sim_gateway` gives the real gateway talking HTTP to the in-process
  simulator instead.
- :class:`Clock`: time that moves only when told.
- :func:`make_object` / :func:`next_object`: the real cache ``Entry`` of an object, first and
  after a pass (a pass always starts from the status the last one wrote, as after a restart).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import random
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.app.settings import Settings
from drs_pause_operator.drs.transport import Timeouts, make_http_client
from drs_pause_operator.engine.kube import ObjectRef, SecretData, SecretUnavailable
from drs_pause_operator.engine.object_pass import PassResult, Reconciler
from drs_pause_operator.engine.objects import Entry
from drs_pause_operator.outbound.gateway import DrsGateway
from drs_pause_operator.resource.policy import Policy
from drs_pause_operator.resource.spec import RETRY_ANNOTATION

PROJECT = "054ba152d480d55b2f5dc0069e7ddef0"
SECRET_NS, SECRET_NAME = "drs-system", "drs-credentials"
TOKEN = "t0k3n-for-unit-tests"


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@dataclass
class FakeKube:
    """Status writes, Secret reads and Events of one or more objects, in memory."""

    secrets: dict[tuple[str, str], SecretData] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    gone: bool = False  # the object was deleted: status patches answer 404 (None)
    #: Called with each status before it is stored; raising stands for a crash or an outage.
    before_write: Callable[[dict[str, Any]], None] | None = None
    #: metadata.finalizers of the object as the fake API server holds it (spec.resume).
    finalizers: list[str] = field(default_factory=list)
    finalizer_patches: list[list[str]] = field(default_factory=list)
    _rv: Iterator[int] = field(default_factory=lambda: itertools.count(100))

    def token_secret(
        self,
        token: str = TOKEN,
        *,
        namespace: str = SECRET_NS,
        name: str = SECRET_NAME,
        annotations: Mapping[str, str] | None = None,
    ) -> FakeKube:
        self.secrets[(namespace, name)] = SecretData(
            data={"token": _b64(token)}, annotations=dict(annotations or {})
        )
        return self

    async def patch_status(self, ref: ObjectRef, status: dict[str, Any]) -> dict[str, Any] | None:
        if self.before_write is not None:
            self.before_write(status)
        if self.gone:
            return None
        self.statuses.append(status)
        return {
            "metadata": {
                "uid": ref.uid,
                "resourceVersion": str(next(self._rv)),
                "finalizers": list(self.finalizers),
            },
            "status": status,
        }

    async def patch_finalizers(
        self, ref: ObjectRef, current: list[str], wanted: list[str]
    ) -> dict[str, Any] | None:
        if self.gone or current != self.finalizers:  # the JSON patch's test fails
            return None
        self.finalizers = list(wanted)
        self.finalizer_patches.append(list(wanted))
        return {
            "metadata": {
                "uid": ref.uid,
                "resourceVersion": str(next(self._rv)),
                "finalizers": list(wanted),
            },
            "status": self.statuses[-1] if self.statuses else {},
        }

    async def read_secret(self, namespace: str, name: str) -> SecretData:
        data = self.secrets.get((namespace, name))
        if data is None:
            raise SecretUnavailable(
                "CredentialsNotFound", f"Secret {namespace}/{name} does not exist"
            )
        return data

    async def post_event(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))

    @property
    def last(self) -> dict[str, Any]:
        return self.statuses[-1]


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def make_object(
    spec: Mapping[str, Any],
    status: Mapping[str, Any] | None = None,
    *,
    generation: int = 1,
    annotations: Mapping[str, str] | None = None,
    finalizers: Sequence[str] = (),
    deleting: bool = False,
) -> Entry:
    deletion = {"deletionTimestamp": "2026-11-28T10:00:00Z"} if deleting else {}
    return Entry.of(
        {
            "metadata": {
                "namespace": "team-a",
                "name": "nightly",
                "uid": "uid-1",
                "generation": generation,
                "resourceVersion": "1",
                "annotations": dict(annotations or {}),
                "finalizers": list(finalizers),
                **deletion,
            },
            "spec": dict(spec),
            "status": dict(status or {}),
        }
    )


def spec_dict(*jobs: str | tuple[str, str], endpoint: str | None = None) -> dict[str, Any]:
    items = [
        {"jobId": j, "pauseMode": "target"} if isinstance(j, str) else {"jobId": j[0],
                                                                         "pauseMode": j[1]}
        for j in jobs
    ]
    spec: dict[str, Any] = {"projectId": PROJECT, "jobs": items}
    if endpoint:
        spec["endpoint"] = endpoint
    return spec


class ScriptedGateway:
    """Answers from the test: ``checks`` (batch-status before a pause), ``pause``, ``verify``
    (batch-status right after a pause). Each is a callable of the ids (jobs for ``pause``); a
    missing one must not be called."""

    def __init__(
        self,
        *,
        checks: Callable[[list[str]], Mapping[str, Any]] | None = None,
        pause: Callable[[list[Any]], Mapping[str, Any]] | None = None,
        verify: Callable[[list[str]], Mapping[str, Any]] | None = None,
        on_pause: Callable[[], None] | None = None,
        resume: Callable[[list[str]], Mapping[str, Any]] | None = None,
    ) -> None:
        self.checks, self.pause_fn, self.verify = checks, pause, verify
        self.resume_fn = resume
        self.on_pause = on_pause
        self.log: list[tuple[str, list[str]]] = []
        self._after_pause = False

    def sent(self, kind: str) -> list[list[str]]:
        return [ids for k, ids in self.log if k == kind]

    @contextlib.contextmanager
    def announce(self, *_: Any) -> Iterator[None]:
        yield

    async def status(self, _t: Any, _c: Any, _l: str, ids: Sequence[str]) -> dict[str, Any]:
        kind = "verify" if self._after_pause else "checks"
        self._after_pause = False
        fn = self.verify if kind == "verify" else self.checks
        self.log.append((kind, list(ids)))
        if fn is None:
            raise AssertionError(f"unexpected {kind} lookup of {list(ids)}")
        return dict(fn(list(ids)))

    async def pause(self, _t: Any, _c: Any, _l: str, infos: Sequence[Any]) -> dict[str, Any]:
        self.log.append(("pause", [i.job_id for i in infos]))
        if self.pause_fn is None:
            raise AssertionError(f"unexpected pause of {[i.job_id for i in infos]}")
        answers = dict(self.pause_fn(list(infos)))
        if self.on_pause is not None:
            self.on_pause()
        self._after_pause = True
        return answers

    async def resume(self, _t: Any, _c: Any, _l: str, ids: Sequence[str]) -> dict[str, Any]:
        """batch-retry-task; the lookup right after it counts as ``verify``."""
        self.log.append(("resume", list(ids)))
        if self.resume_fn is None:
            raise AssertionError(f"unexpected resume of {list(ids)}")
        answers = dict(self.resume_fn(list(ids)))
        self._after_pause = True
        return answers


SETTINGS = Settings(
    default_credentials_secret=f"{SECRET_NS}/{SECRET_NAME}",
    allow_insecure_http=True,
    allowed_endpoints=r"http://127\.0\.0\.1:\d+",
)


@dataclass
class Pass:
    """What one real pass left behind."""

    status: dict[str, Any]
    wake: float | None
    result: PassResult
    kube: FakeKube

    def job(self, job_id: str) -> dict[str, Any]:
        return next(e for e in self.status["jobs"] if e["jobId"] == job_id)

    @property
    def phases(self) -> list[str]:
        return [e["phase"] for e in self.status["jobs"]]

    def condition(self, ctype: str) -> dict[str, Any]:
        return next(c for c in self.status["conditions"] if c["type"] == ctype)


def make_reconciler(
    gateway: Any,
    kube: FakeKube,
    *,
    clock: Clock,
    policy: Policy | None = None,
    settings: Settings = SETTINGS,
    seed: int = 7,
) -> Reconciler:
    """The operator's real pass over these fakes; one instance may run several passes (what a
    running process keeps between them, e.g. a status whose write failed)."""
    return Reconciler(
        settings, kube, gateway, Metrics(), clock=clock, rng=random.Random(seed), policy=policy
    )


async def one_pass(
    gateway: Any,
    spec: Mapping[str, Any],
    status: Mapping[str, Any] | None = None,
    *,
    clock: Clock,
    kube: FakeKube | None = None,
    policy: Policy | None = None,
    retry_token: str | None = None,
    generation: int = 1,
    settings: Settings = SETTINGS,
    seed: int = 7,
    annotations: Mapping[str, str] | None = None,
    deleting: bool = False,
) -> Pass:
    """Run the operator's real reconcile pass once over an object with this spec and status.

    The object's finalizers are ``kube.finalizers`` (what the fake API server holds)."""
    kube = kube if kube is not None else FakeKube().token_secret()
    reconciler = make_reconciler(gateway, kube, clock=clock, policy=policy, settings=settings,
                                 seed=seed)
    obj = make_object(
        spec,
        status,
        generation=generation,
        annotations={
            **({RETRY_ANNOTATION: retry_token} if retry_token else {}),
            **(annotations or {}),
        },
        finalizers=kube.finalizers,
        deleting=deleting,
    )
    result = await reconciler.reconcile(obj)
    return Pass(obj.status, result.wake_after, result, kube)


@contextlib.asynccontextmanager
async def sim_gateway(settings: Settings = SETTINGS) -> AsyncIterator[DrsGateway]:
    """The operator's real gateway and HTTP client (talk to a simulator's URL through it)."""
    http = make_http_client(timeouts=Timeouts(read=5, total=5), max_connections=4)
    gateway = DrsGateway(settings, Metrics(), http)
    try:
        yield gateway
    finally:
        await gateway.aclose()
