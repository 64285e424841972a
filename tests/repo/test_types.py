"""The package's annotations are checked: ``mypy --strict`` with the project's configuration
([tool.mypy] in pyproject.toml) passes over it, and the stubs of the ``kubernetes`` client in
typings/ describe the installed client (mypy's stubtest, plus the model fields it does not see).

The stubs may leave out what the package does not use (optional parameters, whole classes) and
may make a parameter keyword-only; anything else stubtest reports fails here.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest
import urllib3
from pydantic import BaseModel

from .conftest import ROOT

STUBS = ROOT / "typings"
#: What stubtest says of a stub that is narrower than the runtime, and nothing else.
NARROWER = re.compile(
    r'(?P<name>[\w.]+) is inconsistent, (?:stub does not have parameter "(?P<missing>\w+)"'
    r'|runtime parameter "\w+" is not keyword-only)'
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "MYPY_CACHE_DIR")}
    env["PYTHONWARNINGS"] = "ignore"  # kubernetes.client.apis warns on import
    return env


def test_mypy_strict_passes_over_the_package() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, env=_env(),
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, "mypy found errors:\n" + result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def _runtime(name: str) -> Any:
    """The object a dotted name (module path, then attributes) refers to."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise LookupError(name)


def test_stubtest_finds_the_kubernetes_stubs_only_narrower_than_the_client() -> None:
    # Without the project's configuration: its pydantic plugin rewrites the models' __init__.
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "kubernetes", "--ignore-missing-stub",
         "--concise"],
        cwd=ROOT, env={**_env(), "MYPYPATH": str(STUBS)},
        capture_output=True, text=True, timeout=600, check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines or result.returncode == 0, result.stderr
    wrong = []
    for line in lines:
        narrower = NARROWER.fullmatch(line)
        if narrower is None:
            wrong.append(line)
        elif narrower["missing"]:
            # Left out of the stub: fine when the client has a default for it.
            parameter = inspect.signature(_runtime(narrower["name"])).parameters.get(
                narrower["missing"]
            )
            if parameter is None or parameter.default is inspect.Parameter.empty:
                wrong.append(f"{line} (and the client requires it)")
    assert not wrong, "the stubs in typings/ do not match the installed client:\n" + "\n".join(
        wrong
    ) + "\n" + result.stderr


def _stub_classes() -> list[tuple[str, ast.ClassDef]]:
    found = []
    for path in sorted(STUBS.rglob("*.pyi")):
        parts = path.relative_to(STUBS).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        tree = ast.parse(path.read_text())
        found += [(module, node) for node in tree.body if isinstance(node, ast.ClassDef)]
    return found


def _annotated(node: ast.ClassDef) -> list[str]:
    return [item.target.id for item in node.body
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)]


#: Classes whose instance needs constructor arguments, with a way to make one.
INSTANCES: dict[str, Any] = {
    "kubernetes.client.rest.RESTResponse":
        lambda cls: cls(urllib3.HTTPResponse(body=b"{}", status=200, reason="OK")),
}


@pytest.mark.parametrize(
    ("module", "node"), _stub_classes(), ids=lambda value: getattr(value, "name", value)
)
def test_every_attribute_a_stub_declares_exists_in_the_client(
    module: str, node: ast.ClassDef
) -> None:
    """stubtest cannot see instance attributes or pydantic fields: a model's declared fields
    must be fields of the client's model; another class's attributes, of a default instance."""
    names = _annotated(node)
    if not names:
        return
    runtime = getattr(importlib.import_module(module), node.name)
    assert not isinstance(runtime, ModuleType)
    if issubclass(runtime, BaseModel):
        missing = [name for name in names if name not in runtime.model_fields]
    else:
        make = INSTANCES.get(f"{module}.{node.name}", lambda cls: cls())
        instance = make(runtime)
        missing = [name for name in names if not hasattr(instance, name)]
    assert not missing, f"{module}.{node.name} has no {', '.join(missing)}"
