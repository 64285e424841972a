"""What decides the operator image's cache key, and what the build may see of this machine."""

from __future__ import annotations

import shutil
from pathlib import Path

from drs_pause_operator.dev.devcluster import image

ROOT = Path(__file__).resolve().parents[2]


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name in image.CONTEXT_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    pkg = root / "operator" / "drs_pause_operator"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("__version__ = '0'\n")
    return root


def test_cache_key_follows_the_build_context_only(tmp_path):
    root = _tree(tmp_path)
    key = image.source_hash(root)
    (root / "tests").mkdir()
    (root / "tests" / "test_x.py").write_text("x = 1\n")
    cache = root / "operator" / "drs_pause_operator" / "__pycache__"
    cache.mkdir()
    (cache / "m.cpython-311.pyc").write_bytes(b"\0")
    assert image.source_hash(root) == key, "files outside the build context change nothing"
    (root / "operator" / "drs_pause_operator" / "new.py").write_text("y = 2\n")
    assert image.source_hash(root) != key
    # The image installs the locked dependencies: a re-locked dependency is a new image.
    for name in ("Dockerfile", "uv.lock", "scripts/locked_uv.py"):
        key = image.source_hash(root)
        (root / name).write_text((root / name).read_text() + "\n# changed\n")
        assert image.source_hash(root) != key, name


def test_build_context_files_are_those_the_dockerfile_copies():
    copied = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            copied += line.split()[1:-1]
    files = [c for c in copied if not c.endswith("/")]
    dirs = [c.rstrip("/") for c in copied if c.endswith("/")]
    assert sorted(files) == sorted(set(image.CONTEXT_FILES) - {"Dockerfile", ".dockerignore"})
    assert sorted(dirs) == sorted(image.CONTEXT_DIRS)


def test_build_sees_ca_bundle_and_pip_config_read_only(tmp_path, monkeypatch):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("PIP_CONFIG_FILE", str(pip_conf))
    mounts = image.host_build_mounts()
    assert f"--volume={bundle}:{bundle}:ro" in mounts
    assert f"--volume={pip_conf}:{pip_conf}:ro" in mounts
    assert all(m.endswith(":ro") for m in mounts)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(tmp_path / "missing.conf"))
    assert not any("missing.conf" in m for m in image.host_build_mounts())
