"""uv.lock pins every dependency; the venv, the image and CI install from it.

The lock must agree with pyproject.toml (a dependency added or changed without `uv lock` fails
here, and scripts/venv.sh refuses it); the venv is keyed by the lock, holds no project, and the
tests and every process they start run this clone's code.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import drs_pause_operator

from .conftest import ROOT

LOCK = ROOT / "uv.lock"
PROJECT_FILES = ("pyproject.toml", "uv.lock", "README.md")


def _lock_check(uv: Path, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(uv), "lock", "--check", "--project", str(project)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def _copy_project(tmp_path: Path, *extra: str) -> Path:
    project = tmp_path / "project"
    for name in (*PROJECT_FILES, *extra):
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    return project


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_uv_lock_matches_pyproject(uv, uv_env):
    result = _lock_check(uv, ROOT, uv_env)
    assert result.returncode == 0, (
        "uv.lock does not match pyproject.toml: run `uv lock` and commit uv.lock\n" + result.stderr
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"kopf>=1.37"', '"kopf>=1.38"'),  # a runtime dependency's bound
        ('"rich>=13.7",', '"rich>=13.7",\n    "tenacity>=8",'),  # a new runtime dependency
        ('"pytest>=8",', '"pytest>=8",\n    "pytest-randomly>=3",'),  # a new dev dependency
        ('build = ["setuptools>=77", "wheel"]', 'build = ["setuptools>=78", "wheel"]'),
        ('requires-python = ">=3.11"', 'requires-python = ">=3.12"'),
    ],
    ids=["runtime-bound", "runtime-added", "dev-added", "build-group-bound", "requires-python"],
)
def test_a_dependency_changed_without_relocking_fails_the_check(uv, uv_env, tmp_path, old, new):
    project = _copy_project(tmp_path)
    assert _lock_check(uv, project, uv_env).returncode == 0, "the unchanged copy is up to date"
    _edit(project / "pyproject.toml", old, new)
    result = _lock_check(uv, project, uv_env)
    assert result.returncode != 0, f"uv lock --check accepted {new!r} with the old uv.lock"


def test_locked_uv_requirement_is_the_locked_version_with_every_wheel_hash():
    (uv_package,) = [p for p in tomllib.loads(LOCK.read_text())["package"] if p["name"] == "uv"]
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "locked_uv.py"), str(LOCK)],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == f"uv=={uv_package['version']}"
    assert out[1:] == [f"--hash={w['hash']}" for w in uv_package["wheels"]]
    # The release image is built for amd64 and arm64: pip must find a hashed wheel for both.
    names = [w["url"].rsplit("/", 1)[1] for w in uv_package["wheels"]]
    assert any("manylinux" in n and "x86_64" in n for n in names)
    assert any("manylinux" in n and "aarch64" in n for n in names)
    version = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "locked_uv.py"), "--version", str(LOCK)],
        capture_output=True, text=True, check=True).stdout.strip()
    assert version == uv_package["version"]


def _venv_script(tmp_path: Path, uv: Path) -> tuple[Path, Path, dict[str, str]]:
    """A copy of the project with scripts/venv.sh, and a cache whose uv is already there (the
    locked version; pip is not run)."""
    project = _copy_project(tmp_path, "scripts/venv.sh", "scripts/locked_uv.py")
    version = subprocess.run([sys.executable, str(project / "scripts" / "locked_uv.py"),
                              "--version", str(project / "uv.lock")],
                             capture_output=True, text=True, check=True).stdout.strip()
    cache = tmp_path / "cache"
    (cache / "tools" / f"uv-{version}" / "bin").mkdir(parents=True)
    (cache / "tools" / f"uv-{version}" / "bin" / "uv").symlink_to(uv)
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    env.update(DRS_PAUSE_CACHE=str(cache), PYTHON=sys.executable, UV_OFFLINE="1",
               UV_CACHE_DIR=str(tmp_path / "uv-cache"))
    return project, cache, env


def _run_venv_script(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(project / "scripts" / "venv.sh")], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_venv_script_refuses_a_lock_that_does_not_match_pyproject(tmp_path, uv):
    project, cache, env = _venv_script(tmp_path, uv)
    _edit(project / "pyproject.toml", '"kopf>=1.37"', '"kopf>=1.38"')
    result = _run_venv_script(project, env)
    assert result.returncode != 0
    assert "uv.lock does not match pyproject.toml" in result.stderr
    assert [p.name for p in (cache / "venv").iterdir()] == [".lock"], "no venv was made"


def test_venv_is_keyed_by_the_lock_and_the_python_version(tmp_path, uv):
    project, cache, env = _venv_script(tmp_path, uv)
    digest = hashlib.sha256((project / "uv.lock").read_bytes()).hexdigest()[:12]
    venv = cache / "venv" / f"py{sys.version_info[0]}.{sys.version_info[1]}-{digest}"
    # A finished venv of that key (a stand-in: the script only looks at these two files).
    (venv / "bin").mkdir(parents=True)
    os.symlink(sys.executable, venv / "bin" / "python")
    (venv / ".complete").touch()
    result = _run_venv_script(project, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(venv)
    # A tool setting in pyproject.toml is not a dependency: the same venv.
    _edit(project / "pyproject.toml", "line-length = 100", "line-length = 101")
    assert _run_venv_script(project, env).stdout.strip() == str(venv)


def test_venv_script_syncs_the_lock_without_the_project():
    script = (ROOT / "scripts" / "venv.sh").read_text()
    # --locked: a stale lock is an error, never silently re-resolved; the project stays out.
    assert "sync --locked --no-install-project --extra dev" in script
    assert "pip install -e" not in script and "--editable" not in script


def test_tests_and_their_processes_run_this_clones_code():
    source = ROOT / "operator" / "drs_pause_operator"
    assert Path(drs_pause_operator.__file__).resolve().parent == source.resolve()
    # A child process (the operator, the simulator) imports the same package.
    child = subprocess.run(
        [sys.executable, "-c", "import drs_pause_operator; print(drs_pause_operator.__file__)"],
        capture_output=True, text=True, check=True, cwd="/",
    ).stdout.strip()
    assert Path(child).resolve().parent == source.resolve()


def test_ci_caches_by_the_lock_and_installs_from_it():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yaml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    (cache,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/cache")]
    key = cache["with"]["key"]
    assert "'uv.lock'" in key and "pyproject.toml" not in key, key
    runs = " ".join(str(s.get("run", "")) for s in steps)
    assert "make test" in runs  # make test builds the venv with scripts/venv.sh
