"""kubectl's way to a cluster for ``kubectl drs``: ``--kubeconfig`` (else ``$KUBECONFIG``, else
``~/.kube/config``, else the in-cluster service account), ``--context``, and the context's
namespace unless ``-n`` or ``-A`` says otherwise; then the few API calls the plugin makes."""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.resource.spec import GROUP, PLURAL, VERSION

WINDOWS = "drspausewindows"


class KubeError(Exception):
    """A problem to print (no traceback): no kubeconfig, object not found, request refused."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the API server's HTTP status, when it answered


@dataclass
class Cluster:
    api: client.CustomObjectsApi
    namespace: str

    @classmethod
    def connect(cls, kubeconfig: str | None, context: str | None,
                namespace: str | None) -> Cluster:
        try:
            api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
            ns = namespace or _context_namespace(kubeconfig, context)
        except (config.ConfigException, OSError) as err:
            if kubeconfig or context:
                raise KubeError(f"cannot load kubeconfig: {err}") from None
            try:
                config.load_incluster_config()
            except config.ConfigException:
                raise KubeError(f"no kubeconfig found ({err}); use --kubeconfig") from None
            api_client = client.ApiClient()
            ns = namespace or _incluster_namespace()
        return cls(client.CustomObjectsApi(api_client), ns)

    # -- reads ------------------------------------------------------------------------------

    def list(self, all_namespaces: bool, plural: str = PLURAL) -> list[dict[str, Any]]:
        try:
            if all_namespaces:
                body = self.api.list_cluster_custom_object(GROUP, VERSION, plural)
            else:
                body = self.api.list_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, plural
                )
        except ApiException as err:
            raise _error(err, plural) from None
        items: list[dict[str, Any]] = body.get("items") or []
        return sorted(items, key=lambda o: (o["metadata"].get("namespace", ""),
                                            o["metadata"]["name"]))

    def windows(self, all_namespaces: bool) -> builtins.list[dict[str, Any]] | None:
        """DrsPauseWindow objects, or None when the API server does not serve that kind."""
        try:
            return self.list(all_namespaces, WINDOWS)
        except KubeError as err:
            if err.status == 404:
                return None
            raise

    def get(self, name: str) -> dict[str, Any]:
        try:
            return self.api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        except ApiException as err:
            raise _error(err, PLURAL, name) from None

    # -- writes -----------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.api.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, body
            )
        except ApiException as err:
            raise _error(err, PLURAL) from None

    def delete(self, name: str) -> None:
        """Delete the object; one that is gone already counts as deleted."""
        try:
            self.api.delete_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        except ApiException as err:
            if err.status != 404:
                raise _error(err, PLURAL, name) from None

    def annotate(self, name: str, annotation: str, value: str | None = None) -> str:
        """Set ``annotation`` to a new value (a UTC timestamp by default); returns the value."""
        value = value or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        patch = {"metadata": {"annotations": {annotation: value}}}
        try:
            self.api.patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, patch,
                _content_type="application/merge-patch+json",
            )
        except ApiException as err:
            raise _error(err, PLURAL, name) from None
        return value


def _context_namespace(kubeconfig: str | None, context: str | None) -> str:
    contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
    return ((chosen or {}).get("context") or {}).get("namespace") or "default"


def _incluster_namespace() -> str:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as f:
            return f.read().strip() or "default"
    except OSError:
        return "default"


def _error(err: ApiException, plural: str, name: str | None = None) -> KubeError:
    message = err.reason or "error"
    with contextlib.suppress(ValueError, AttributeError):
        message = json.loads(err.body or "{}").get("message") or message
    if err.status == 404 and name:
        message = f'{plural}.{GROUP} "{name}" not found'
    elif err.status == 404:
        message = f"the server does not serve {plural}.{GROUP} (is the CRD installed?)"
    return KubeError(f"Error from server ({err.status}): {message}", err.status)
