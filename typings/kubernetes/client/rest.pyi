import io
from typing import Any

class RESTResponse(io.IOBase):
    status: int
    reason: str | None
    data: bytes | None
    def __init__(self, resp: Any) -> None: ...
    def read(self) -> bytes: ...
