"""Response bodies into models: JSON decoding and shape checks that raise
:class:`~drs_pause_operator.drs.errors.DrsProtocolError` (kept apart from ``models`` so the
models depend on nothing and the errors may refer to them)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from drs_pause_operator.drs.errors import DrsProtocolError

__all__ = ["load_json", "parse_json"]


M = TypeVar("M", bound=BaseModel)


def load_json(content: bytes | bytearray, *, what: str) -> Any:
    """Decode a JSON body; DrsProtocolError when it is not JSON."""
    if not content.strip():
        raise DrsProtocolError(f"{what}: empty response body")
    try:
        return json.loads(content)
    except json.JSONDecodeError as err:
        raise DrsProtocolError(f"{what}: response body is not JSON ({err.msg})") from err
    except UnicodeDecodeError as err:
        raise DrsProtocolError(f"{what}: response body is not UTF-8 JSON") from err


def parse_json(model: type[M], content: bytes | Any, *, what: str = "DRS response") -> M:
    """Parse raw bytes (or already decoded JSON) into ``model``; DrsProtocolError otherwise."""
    data = load_json(content, what=what) if isinstance(content, bytes | bytearray) else content
    if not isinstance(data, dict):
        raise DrsProtocolError(f"{what}: expected a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "<body>" for e in err.errors())
        raise DrsProtocolError(f"{what}: unexpected body shape ({fields})") from err
