from typing import Any, Self

class OpenApiException(Exception): ...

class ApiException(OpenApiException):
    status: int | None
    reason: str | None
    body: str | None
    def __init__(
        self,
        status: int | None = None,
        reason: str | None = None,
        http_resp: Any = None,
        *,
        body: str | None = None,
        data: Any | None = None,
    ) -> None: ...
    @classmethod
    def from_response(cls, *, http_resp: Any, body: str | None, data: Any | None) -> Self: ...
