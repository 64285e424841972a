from types import TracebackType
from typing import Any, Literal, Self, overload

from pydantic import BaseModel
from urllib3 import BaseHTTPResponse

from .rest import RESTResponse

# (connect, read) seconds, or one number for the whole request.
_Timeout = float | tuple[float, float]

class Configuration:
    connection_pool_maxsize: int
    @classmethod
    def get_default_copy(cls) -> Self: ...

class ApiClient:
    def __init__(
        self,
        configuration: Configuration | None = None,
        header_name: str | None = None,
        header_value: str | None = None,
        cookie: str | None = None,
        pool_threads: int = 1,
    ) -> None: ...
    def close(self) -> None: ...
    # The request as the generated API methods build it: (method, url, headers, body, post_params).
    def param_serialize(
        self,
        method: str,
        resource_path: str,
        path_params: dict[str, str] | None = None,
        query_params: list[tuple[str, str]] | None = None,
        header_params: dict[str, str] | None = None,
        body: Any = None,
        post_params: list[tuple[str, str]] | None = None,
        files: dict[str, Any] | None = None,
        auth_settings: list[str] | None = None,
    ) -> tuple[str, str, dict[str, str], Any, list[tuple[str, str]]]: ...
    def call_api(
        self,
        method: str,
        url: str,
        header_params: dict[str, str] | None = None,
        body: Any = None,
        post_params: list[tuple[str, str]] | None = None,
        _request_timeout: _Timeout | None = None,
    ) -> RESTResponse: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

# -- models (pydantic models in the package; fields by their Python names) -----------------------

class V1ObjectMeta(BaseModel):
    name: str | None = None
    namespace: str | None = None
    annotations: dict[str, str] | None = None

class V1Preconditions(BaseModel):
    uid: str | None = None
    resource_version: str | None = None

class V1DeleteOptions(BaseModel):
    preconditions: V1Preconditions | None = None

class V1Lease(BaseModel):
    metadata: V1ObjectMeta | None = None

class V1APIResource(BaseModel):
    name: str

class V1APIResourceList(BaseModel):
    group_version: str
    resources: list[V1APIResource]

# -- API groups ------------------------------------------------------------------------------------
# A custom object (and a list of them) comes back as the JSON object the API server sent.

class CustomObjectsApi:
    def __init__(self, api_client: ApiClient | None = None) -> None: ...
    def get_api_resources(
        self, group: str, version: str, *, _request_timeout: _Timeout | None = None
    ) -> V1APIResourceList: ...
    def list_cluster_custom_object(
        self,
        group: str,
        version: str,
        plural: str,
        *,
        label_selector: str | None = None,
        _request_timeout: _Timeout | None = None,
    ) -> dict[str, Any]: ...
    def list_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        *,
        label_selector: str | None = None,
        _request_timeout: _Timeout | None = None,
    ) -> dict[str, Any]: ...
    def get_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        name: str,
        *,
        _request_timeout: _Timeout | None = None,
    ) -> dict[str, Any]: ...
    def create_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        body: dict[str, Any],
        *,
        _request_timeout: _Timeout | None = None,
    ) -> dict[str, Any]: ...
    def delete_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        name: str,
        *,
        body: V1DeleteOptions | None = None,
        _request_timeout: _Timeout | None = None,
    ) -> dict[str, Any]: ...
    # body: a JSON patch (a list of operations) or a merge patch, as _content_type says.
    def patch_namespaced_custom_object(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        name: str,
        body: dict[str, Any] | list[dict[str, Any]],
        *,
        _content_type: str | None = None,
        _request_timeout: _Timeout | None = None,
    ) -> dict[str, Any]: ...
    def patch_namespaced_custom_object_status(
        self,
        group: str,
        version: str,
        namespace: str,
        plural: str,
        name: str,
        body: dict[str, Any] | list[dict[str, Any]],
        *,
        _content_type: str | None = None,
        _request_timeout: _Timeout | None = None,
    ) -> dict[str, Any]: ...

# The Lease calls: a body as a V1Lease or as its JSON; the raw response with
# _preload_content=False (the caller decodes it).
class CoordinationV1Api:
    def __init__(self, api_client: ApiClient | None = None) -> None: ...
    @overload
    def read_namespaced_lease(
        self,
        name: str,
        namespace: str,
        *,
        _preload_content: Literal[True] = True,
        _request_timeout: _Timeout | None = None,
    ) -> V1Lease: ...
    @overload
    def read_namespaced_lease(
        self,
        name: str,
        namespace: str,
        *,
        _preload_content: Literal[False],
        _request_timeout: _Timeout | None = None,
    ) -> BaseHTTPResponse: ...
    @overload
    def create_namespaced_lease(
        self,
        namespace: str,
        body: V1Lease | dict[str, Any],
        *,
        _preload_content: Literal[True] = True,
        _request_timeout: _Timeout | None = None,
    ) -> V1Lease: ...
    @overload
    def create_namespaced_lease(
        self,
        namespace: str,
        body: V1Lease | dict[str, Any],
        *,
        _preload_content: Literal[False],
        _request_timeout: _Timeout | None = None,
    ) -> BaseHTTPResponse: ...
    @overload
    def replace_namespaced_lease(
        self,
        name: str,
        namespace: str,
        body: V1Lease | dict[str, Any],
        *,
        _preload_content: Literal[True] = True,
        _request_timeout: _Timeout | None = None,
    ) -> V1Lease: ...
    @overload
    def replace_namespaced_lease(
        self,
        name: str,
        namespace: str,
        body: V1Lease | dict[str, Any],
        *,
        _preload_content: Literal[False],
        _request_timeout: _Timeout | None = None,
    ) -> BaseHTTPResponse: ...
