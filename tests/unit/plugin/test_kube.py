"""The plugin's API calls over a fake CustomObjectsApi: what they send, and how the API
server's refusals read (no traceback, the server's message, 404s that mean something)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from drs_pause_operator.plugin.kube import Cluster, KubeError


class FakeApi:
    """Records each call; answers with ``answer`` or raises ``error``."""

    def __init__(self, error: ApiException | None = None, answer: Any = None) -> None:
        self.error, self.answer = error, answer
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, method: str):
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, args, kwargs))
            if self.error is not None:
                raise self.error
            return self.answer

        return call


def refusal(status: int, message: str = "") -> ApiException:
    err = ApiException(status=status, reason="Reason")
    err.body = json.dumps({"message": message}) if message else None
    return err


def test_delete_deletes_the_named_object_in_the_namespace() -> None:
    api = FakeApi(answer={})
    Cluster(api, "ns").delete("plan-1")  # type: ignore[arg-type]
    assert api.calls == [("delete_namespaced_custom_object",
                          ("drs.cloudops.dev", "v1alpha1", "ns", "drsjobpauses", "plan-1"), {})]


def test_an_object_already_gone_counts_as_deleted() -> None:
    Cluster(FakeApi(refusal(404)), "ns").delete("plan-1")  # type: ignore[arg-type]


def test_a_refused_delete_says_what_the_server_said() -> None:
    api = FakeApi(refusal(403, 'drsjobpauses "plan-1" is forbidden: User "u" cannot delete'))
    with pytest.raises(KubeError) as caught:
        Cluster(api, "ns").delete("plan-1")  # type: ignore[arg-type]
    assert str(caught.value) == ('Error from server (403): drsjobpauses "plan-1" is forbidden: '
                                 'User "u" cannot delete')
    assert caught.value.status == 403


def test_not_found_names_the_object_or_the_missing_crd() -> None:
    with pytest.raises(KubeError) as caught:
        Cluster(FakeApi(refusal(404)), "ns").get("x")  # type: ignore[arg-type]
    assert str(caught.value) == ('Error from server (404): '
                                 'drsjobpauses.drs.cloudops.dev "x" not found')
    with pytest.raises(KubeError, match="is the CRD installed"):
        Cluster(FakeApi(refusal(404)), "ns").list(False)  # type: ignore[arg-type]


def test_windows_are_none_when_the_kind_is_not_served() -> None:
    assert Cluster(FakeApi(refusal(404)), "ns").windows(True) is None  # type: ignore[arg-type]
    with pytest.raises(KubeError):
        Cluster(FakeApi(refusal(403)), "ns").windows(True)  # type: ignore[arg-type]


def test_annotate_sends_a_merge_patch_with_a_new_value() -> None:
    api = FakeApi(answer={})
    value = Cluster(api, "ns").annotate("x", "drs.cloudops.dev/replan")  # type: ignore[arg-type]
    ((method, args, kwargs),) = api.calls
    assert method == "patch_namespaced_custom_object" and args[4] == "x"
    assert args[5] == {"metadata": {"annotations": {"drs.cloudops.dev/replan": value}}}
    assert kwargs == {"_content_type": "application/merge-patch+json"}
    assert value.endswith("Z") and len(value) == len("2026-11-28T10:00:00.000000Z")


def test_list_sorts_by_namespace_and_name() -> None:
    items = [{"metadata": {"namespace": "b", "name": "a"}},
             {"metadata": {"namespace": "a", "name": "z"}},
             {"metadata": {"namespace": "a", "name": "c"}}]
    listed = Cluster(FakeApi(answer={"items": items}), "ns").list(True)  # type: ignore[arg-type]
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in listed] == [
        ("a", "c"), ("a", "z"), ("b", "a")]
