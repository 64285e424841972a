"""Writes and reads against the Kubernetes API that kopf does not do for us.

Status goes through the status subresource as one JSON patch that first tests the object's uid;
Events are core/v1 Events; Secrets are read with GET only (no list/watch, so RBAC can stay at
`get` on named Secrets); a window's children are listed, created and deleted here too. The
``kubernetes`` client is synchronous, so calls run in a bounded thread pool.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.app.metrics import Metrics
from drs_pause_operator.engine.kube_core import CoreV1
from drs_pause_operator.resource.spec import GROUP, KIND, PLURAL, VERSION
from drs_pause_operator.resource.window import WINDOW_LABEL

log = logging.getLogger(__name__)

SECRET_CACHE_SECONDS = 5.0  # a burst of objects sharing one Secret reads it once
# (connect, read) seconds for every call: the client's default is to wait for ever, and a
# request that never gets an answer would hold its pass (and a thread) for good.
REQUEST_TIMEOUT = (5.0, 30.0)

P = ParamSpec("P")
T = TypeVar("T")


async def run_in_pool(
    pool: ThreadPoolExecutor, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """A call of the synchronous ``kubernetes`` client, in ``pool``, with REQUEST_TIMEOUT
    unless the caller gives its own."""
    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, lambda: fn(*args, **kwargs))


class ChildRejected(Exception):
    """The API server refused a window's child (its template breaks the DrsJobPause schema)."""


class SecretUnavailable(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class SecretData:
    """What the operator reads of a Secret: its base64 ``.data`` and its annotations."""

    data: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class ObjectRef:
    namespace: str
    name: str
    uid: str


class KubeApi:
    def __init__(self, metrics: Metrics, threads: int = 8, component: str = "drs-pause-operator"):
        try:
            k8s_config.load_incluster_config()
        except k8s_config.ConfigException:
            k8s_config.load_kube_config()
        conf = k8s.Configuration.get_default_copy()
        conf.connection_pool_maxsize = threads
        self._api = k8s.ApiClient(conf)
        self._custom = k8s.CustomObjectsApi(self._api)
        self._core = CoreV1(self._api)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="kube")
        self._metrics = metrics
        self._component = component
        self._secrets: dict[tuple[str, str], tuple[float, SecretData | SecretUnavailable]] = {}
        # Reads in progress: a burst of objects sharing a Secret waits for one GET, not one each.
        self._reading: dict[tuple[str, str], asyncio.Future[SecretData]] = {}

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in_pool(self._pool, fn, *args, **kwargs)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._api.close()

    async def patch_status(
        self, ref: ObjectRef, status: dict[str, Any], plural: str = PLURAL
    ) -> dict[str, Any] | None:
        """Replace the status through the status subresource; None when the object is gone.

        A JSON patch whose first operation tests metadata.uid: a status computed for an object
        that was deleted and re-created under the same name is never written onto the new one
        (a merge patch would not check the uid).
        """
        patch: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/uid", "value": ref.uid},
            {"op": "add", "path": "/status", "value": status},
        ]
        try:
            body = await self._run(
                self._custom.patch_namespaced_custom_object_status,
                GROUP, VERSION, ref.namespace, plural, ref.name, patch,
                _content_type="application/json-patch+json",
            )
        except ApiException as err:
            if err.status == 404:
                return None
            if err.status == 422:
                # The uid test failed (the object was re-created under the same name), or the
                # status broke the schema (a bug): either way this pass's status is dropped.
                log.warning("status of %s/%s not written (422): %s", ref.namespace, ref.name,
                            str(err.body or "")[:500])
                return None
            raise
        self._metrics.kube_writes.labels("status").inc()
        return body

    async def patch_finalizers(
        self, ref: ObjectRef, current: list[str], wanted: list[str]
    ) -> dict[str, Any] | None:
        """Set metadata.finalizers from ``current`` to ``wanted``; None when not written.

        A JSON patch that tests the uid and the list as the caller saw it: a finalizer another
        client added or removed meanwhile is never overwritten (the test fails with 422 and the
        next pass, fed by the watch event of that change, decides again).
        """
        patch: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": ref.uid}]
        if current:
            patch.append({"op": "test", "path": "/metadata/finalizers", "value": current})
            patch.append({"op": "replace", "path": "/metadata/finalizers", "value": wanted})
        else:
            patch.append({"op": "add", "path": "/metadata/finalizers", "value": wanted})
        try:
            body = await self._run(
                self._custom.patch_namespaced_custom_object,
                GROUP, VERSION, ref.namespace, PLURAL, ref.name, patch,
                _content_type="application/json-patch+json",
            )
        except ApiException as err:
            if err.status in (404, 409, 422):
                log.info("finalizers of %s/%s not written (%s)", ref.namespace, ref.name,
                         err.status)
                return None
            raise
        self._metrics.kube_writes.labels("finalizer").inc()
        return body

    async def read_secret(self, namespace: str, name: str) -> SecretData:
        """The Secret's raw .data (base64 values) and annotations, cached for a few seconds."""
        now = time.monotonic()
        cached = self._secrets.get((namespace, name))
        if cached and now - cached[0] < SECRET_CACHE_SECONDS:
            if isinstance(cached[1], SecretUnavailable):
                raise cached[1]
            return cached[1]
        key = (namespace, name)
        reading = self._reading.get(key)
        if reading is None:
            # A task of its own: a caller that gives up does not cancel the others' read.
            reading = asyncio.ensure_future(self._read_secret(namespace, name, now))
            self._reading[key] = reading

            def done(task: asyncio.Future[SecretData]) -> None:
                self._reading.pop(key, None)
                if not task.cancelled():
                    task.exception()  # retrieved even when every caller gave up

            reading.add_done_callback(done)
        return await asyncio.shield(reading)

    async def _read_secret(self, namespace: str, name: str, now: float) -> SecretData:
        try:
            secret = await self._run(self._core.read_namespaced_secret, name, namespace)
            result: SecretData | SecretUnavailable = SecretData(
                data=dict(secret.get("data") or {}),
                annotations=dict((secret.get("metadata") or {}).get("annotations") or {}),
            )
        except ApiException as err:
            if err.status == 404:
                result = SecretUnavailable(
                    "CredentialsNotFound", f"Secret {namespace}/{name} does not exist"
                )
            elif err.status == 403:
                result = SecretUnavailable(
                    "CredentialsForbidden",
                    f"the operator may not read Secret {namespace}/{name} (RBAC: get secrets)",
                )
            else:
                raise
        if len(self._secrets) > 4096:
            self._secrets.clear()
        self._secrets[(namespace, name)] = (now, result)
        if isinstance(result, SecretUnavailable):
            raise result
        return result

    async def post_event(
        self, ref: ObjectRef, type_: str, reason: str, message: str, kind: str = KIND
    ) -> None:
        event = make_event(kind, ref, type_, reason, message, self._component)
        try:
            await self._run(self._core.create_namespaced_event, ref.namespace, event)
            self._metrics.kube_writes.labels("event").inc()
        except ApiException as err:  # events are best effort
            log.warning(
                "could not post event %s for %s/%s: %s", reason, ref.namespace, ref.name, err.reason
            )

    # -- a window's children --------------------------------------------------------------------

    async def list_children(self, namespace: str, window: str) -> list[dict[str, Any]]:
        answer = await self._run(
            self._custom.list_namespaced_custom_object,
            GROUP, VERSION, namespace, PLURAL,
            label_selector=f"{WINDOW_LABEL}={window}",
        )
        return list(answer.get("items") or [])

    async def create_child(self, body: dict[str, Any]) -> bool:
        """Create; False when an object of that name exists already."""
        meta = body["metadata"]
        try:
            await self._run(
                self._custom.create_namespaced_custom_object,
                GROUP, VERSION, meta["namespace"], PLURAL, body,
            )
        except ApiException as err:
            if err.status == 409:
                return False
            if err.status in (400, 422):
                raise ChildRejected(_api_message(err)) from None
            raise
        self._metrics.kube_writes.labels("create").inc()
        return True

    async def delete_child(self, namespace: str, name: str, uid: str) -> None:
        try:
            await self._run(
                self._custom.delete_namespaced_custom_object,
                GROUP, VERSION, namespace, PLURAL, name,
                body=k8s.V1DeleteOptions(preconditions=k8s.V1Preconditions(uid=uid)),
            )
        except ApiException as err:
            if err.status not in (404, 409):  # gone already, or replaced under that name
                raise
            return
        self._metrics.kube_writes.labels("delete").inc()


def _api_message(err: ApiException) -> str:
    try:
        return str(json.loads(err.body or "{}").get("message") or err.reason)[:900]
    except ValueError:
        return str(err.reason)


def make_event(
    kind: str, ref: ObjectRef, type_: str, reason: str, message: str, component: str
) -> dict[str, Any]:
    """A core/v1 Event about one of our objects (``kind`` of this group), posted as it is."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{ref.name}.{uuid.uuid4().hex[:12]}", "namespace": ref.namespace},
        "involvedObject": {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "name": ref.name,
            "namespace": ref.namespace,
            "uid": ref.uid,
        },
        "type": type_,
        "reason": reason,
        "message": message[:1024],
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": component,
    }
