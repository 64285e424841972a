"""What the packaging checks share: the repository root and uv (the dev extra installs it next to
the tests' Python; scripts/venv.sh takes the version uv.lock pins)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def uv() -> Path:
    path = Path(sys.executable).with_name("uv")
    assert path.is_file(), (
        f"no uv next to {sys.executable}: the dev extra installs it (scripts/venv.sh builds that "
        "venv from uv.lock)"
    )
    return path


@pytest.fixture
def uv_env(tmp_path: Path) -> dict[str, str]:
    """uv offline with an empty cache and no user configuration: what the lock alone allows."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(UV_CACHE_DIR=str(tmp_path / "uv-cache"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               UV_OFFLINE="1", UV_PYTHON_DOWNLOADS="never")
    return env
