"""Dependabot keeps the three kinds of pinned inputs current: the Python dependencies of uv.lock,
the workflows' actions and the Dockerfile's base image, each weekly and in few pull requests."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .conftest import ROOT

CONFIG = ROOT / ".github" / "dependabot.yml"


def _updates() -> dict[str, dict]:
    config = yaml.safe_load(CONFIG.read_text())
    assert config["version"] == 2
    updates = {u["package-ecosystem"]: u for u in config["updates"]}
    assert len(updates) == len(config["updates"]), "one entry per ecosystem"
    return updates


def _folder(update: dict) -> Path:
    return ROOT / update["directory"].lstrip("/")


def test_covers_python_actions_and_the_docker_base_image_weekly():
    updates = _updates()
    assert {"uv", "github-actions", "docker"} <= set(updates), sorted(updates)
    for ecosystem in ("uv", "github-actions", "docker"):
        assert updates[ecosystem]["schedule"]["interval"] == "weekly", ecosystem
    assert (_folder(updates["uv"]) / "uv.lock").is_file()
    assert (_folder(updates["uv"]) / "pyproject.toml").is_file()
    assert (_folder(updates["docker"]) / "Dockerfile").is_file()
    assert list((_folder(updates["github-actions"]) / ".github" / "workflows").glob("*.yaml"))


def test_minor_and_patch_updates_are_grouped_and_majors_come_alone():
    updates = _updates()
    for ecosystem in ("uv", "github-actions"):
        groups = updates[ecosystem].get("groups") or {}
        assert groups, f"{ecosystem}: every update would be a pull request of its own"
        for name, group in groups.items():
            assert group.get("patterns") == ["*"], (ecosystem, name)
            assert sorted(group["update-types"]) == ["minor", "patch"], (ecosystem, name)


def test_the_base_image_is_in_a_from_line_dependabot_reads():
    """Dependabot does not resolve `FROM ${ARG}`: the public image must be named in a FROM line of
    its own (the stage the build argument defaults to)."""
    froms = re.findall(r"^FROM\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    literal = [f for f in froms if "$" not in f]
    assert literal and all(re.fullmatch(r"python:[\w.-]+", f) for f in literal), froms
