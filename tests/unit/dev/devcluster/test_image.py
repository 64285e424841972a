"""The image builder starts buildah again only for its known transient failure."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from drs_pause_operator.dev.devcluster import image
from drs_pause_operator.dev.devcluster.build import DevClusterError

SEAL_ERROR = ("Close_Fd sealing memfd copy: Device or resource busy\n"
              "subprocess exited with status 1\n"
              "Error: building at STEP \"RUN true\": exit status 1")


class FakeBuildah:
    """Answers each call with the next (returncode, stderr) and records the calls."""

    def __init__(self, answers: list[tuple[int, str]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, cmd: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(cmd)
        code, err = self.answers[len(self.calls) - 1]
        return subprocess.CompletedProcess(cmd, code, stdout="built\n" if code == 0 else "",
                                           stderr=err)


@pytest.fixture
def builder_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setattr(image, "_require", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(image, "SEAL_PAUSE_S", 0.0)
    monkeypatch.setattr(image, "image_dir", lambda: tmp_path)

    def make(fake: FakeBuildah, logs: list[str]) -> image.Builder:
        return image.Builder(log=logs.append, run=fake)

    return make


def test_a_busy_seal_is_tried_again_and_said(builder_for: Any) -> None:
    fake, logs = FakeBuildah([(1, SEAL_ERROR), (0, "")]), []
    out = builder_for(fake, logs).buildah("bud", "-t", "x", what="the operator image")
    assert out == "built\n"
    assert len(fake.calls) == 2 and fake.calls[0] == fake.calls[1]
    assert logs == ["the operator image: buildah could not seal its re-exec copy "
                    f"({image.SEAL_BUSY}); attempt 2 of {image.SEAL_ATTEMPTS}"]


def test_a_busy_seal_gives_up_after_the_last_attempt(builder_for: Any) -> None:
    fake = FakeBuildah([(1, SEAL_ERROR)] * image.SEAL_ATTEMPTS)
    with pytest.raises(DevClusterError, match="the operator image failed: buildah bud -t") as err:
        builder_for(fake, []).buildah("bud", "-t", "x", what="the operator image")
    assert image.SEAL_BUSY in str(err.value)
    assert len(fake.calls) == image.SEAL_ATTEMPTS


def test_any_other_failure_is_not_tried_again(builder_for: Any) -> None:
    pip_failed = "Error: building at STEP \"RUN pip install\": exit status 1"
    fake, logs = FakeBuildah([(1, pip_failed)]), []
    with pytest.raises(DevClusterError, match="RUN pip install"):
        builder_for(fake, logs).buildah("bud", "-t", "x", what="the operator image")
    assert len(fake.calls) == 1 and logs == []


def test_a_seal_that_stays_busy_builds_with_runc_instead(
    builder_for: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(image.shutil, "which", lambda tool: f"/usr/sbin/{tool}")
    fake = FakeBuildah([(1, SEAL_ERROR)] * image.SEAL_ATTEMPTS + [(0, "")])
    logs: list[str] = []
    builder_for(fake, logs).bud(tmp_path, tmp_path / "Dockerfile", "x:1", "--build-arg=A=b",
                                what="the operator image")
    isolation = [c[c.index("--isolation") + 1] for c in fake.calls]
    assert isolation == ["chroot"] * image.SEAL_ATTEMPTS + ["oci"]
    last = fake.calls[-1]
    assert last[last.index("--network") + 1] == "host"  # the RUN steps download packages
    assert last[-2:] == ["--build-arg=A=b", str(tmp_path)]
    assert logs[-1].endswith("building with runc (--isolation oci)")


def test_without_runc_the_seal_error_is_the_answer(
    builder_for: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(image.shutil, "which", lambda tool: None)
    fake = FakeBuildah([(1, SEAL_ERROR)] * image.SEAL_ATTEMPTS)
    with pytest.raises(DevClusterError, match="sealing memfd copy"):
        builder_for(fake, []).bud(tmp_path, tmp_path / "Dockerfile", "x:1", what="pause image")
    assert len(fake.calls) == image.SEAL_ATTEMPTS
