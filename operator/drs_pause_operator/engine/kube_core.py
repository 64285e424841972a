"""The two core/v1 calls of the operator (read a Secret, create an Event), without ``CoreV1Api``.

The client's ``CoreV1Api`` is one generated class of some 50,000 lines; importing it took 1.2
CPU-seconds, about 40% of the operator's start (ten times that in wall time under a 100m CPU
limit). These requests are built as the generated methods build theirs
(``ApiClient.param_serialize`` with the same auth setting, so kubeconfig, in-cluster token and
client certificates all apply), and answer the JSON object the API server sent. A refusal raises
the client's own ``ApiException`` (``NotFoundException`` for 404, ...) with the status.
"""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

#: (connect, read) seconds, or one number for the whole request.
Timeout = float | tuple[float, float]


class CoreV1:
    def __init__(self, api: k8s.ApiClient) -> None:
        self._api = api

    def read_namespaced_secret(self, name: str, namespace: str, *,
                               _request_timeout: Timeout | None = None) -> dict[str, Any]:
        return self._call("GET", "/api/v1/namespaces/{namespace}/secrets/{name}",
                          {"namespace": namespace, "name": name}, None, _request_timeout)

    def create_namespaced_event(self, namespace: str, body: dict[str, Any], *,
                                _request_timeout: Timeout | None = None) -> dict[str, Any]:
        return self._call("POST", "/api/v1/namespaces/{namespace}/events",
                          {"namespace": namespace}, body, _request_timeout)

    def _call(self, method: str, path: str, path_params: dict[str, str],
              body: dict[str, Any] | None, timeout: Timeout | None) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = self._api.param_serialize(
            method, path, path_params=path_params, header_params=headers, body=body,
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(*request, _request_timeout=timeout)
        text = response.read().decode("utf-8", errors="replace")
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=text, data=None)
        answer: dict[str, Any] = json.loads(text)
        return answer
