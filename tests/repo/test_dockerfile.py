"""Static checks of the Dockerfile and of what the release workflow publishes.

These read the instructions and check the properties the chart relies on (non-root numeric
user, the console-script entrypoint, a builder stage whose wheel the runtime installs, a base
image that is a build argument, a context that holds what the build needs) and that the image
installs the dependencies of uv.lock, pinned and hashed. That the image builds and runs is shown
by tests/node: buildah builds this Dockerfile and the chart runs it in a pod.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "Dockerfile ends in a line continuation"
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for ins in _instructions():
        if ins[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def _args() -> dict[str, str]:
    args = {}
    for word, rest in _instructions():
        if word == "ARG" and "=" in rest:
            key, value = rest.split("=", 1)
            args[key] = value
        if word == "FROM":
            break
    return args


def _commands(stage: list[tuple[str, str]]) -> list[str]:
    """The shell commands of a stage's RUN instructions (split at &&), without RUN's own flags."""
    out = []
    for word, rest in stage:
        if word != "RUN":
            continue
        for command in rest.split("&&"):
            words = [w for w in command.split() if not w.startswith("--mount=")]
            out.append(" ".join(words))
    return out


def _resolve(text: str) -> str:
    args = _args()
    return re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), text)


def _stage_bases() -> list[tuple[str, str]]:
    """(stage name, the image it starts from) in order, build arguments and stages resolved."""
    bases: list[tuple[str, str]] = []
    for stage in _stages():
        match = re.fullmatch(r"(\S+)\s+AS\s+([\w.-]+)", _resolve(stage[0][1]), re.I)
        assert match, f"every stage is named: {stage[0]}"
        image, name = match.groups()
        bases.append((name, dict(bases).get(image, image)))
    return bases


def _stage(name: str) -> list[tuple[str, str]]:
    (stage,) = [s for s, (n, _) in zip(_stages(), _stage_bases(), strict=True) if n == name]
    return stage


def test_multi_stage_build_on_python_311_slim():
    bases = _stage_bases()
    names = [name for name, _ in bases]
    assert "builder" in names and names[-1] == "runtime", names
    assert names.index("builder") < names.index("runtime")
    for name, image in bases:
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", image), (name, image)


def test_builder_builds_the_wheel_and_runtime_installs_it_offline():
    builder, runtime = _stage("builder"), _stages()[-1]
    builder_runs = " ".join(rest for word, rest in builder if word == "RUN")
    assert re.search(r"pip wheel --no-build-isolation --no-deps --wheel-dir /dist \.",
                     builder_runs)
    runtime_runs = " ".join(rest for word, rest in runtime if word == "RUN")
    assert "from=builder" in runtime_runs
    assert re.search(r"pip install --no-index --no-deps /dist/drs_pause_operator-\*\.whl",
                     runtime_runs)
    # Every pip install of the runtime stage is offline and resolves nothing itself.
    installs = [c for c in _commands(runtime) if c.startswith("pip install")]
    assert len(installs) == 2, installs
    assert all("--no-index" in c and "--no-deps" in c for c in installs), installs
    # The runtime stage never sees the sources: it copies nothing from the build context.
    assert not [rest for word, rest in runtime if word in ("COPY", "ADD") and "--from" not in rest]


def _requirements(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a hashed requirements file as uv export writes it."""
    pins: dict[str, tuple[str, list[str]]] = {}
    for entry in re.sub(r"\\\n", " ", text).splitlines():
        words = entry.split("#", 1)[0].split()
        if not words:
            continue
        name, _, version = words[0].partition("==")
        assert version, f"not pinned with ==: {entry!r}"
        pins[name.lower()] = (version, [w.removeprefix("--hash=") for w in words[1:]
                                        if w.startswith("--hash=")])
    return pins


def test_dependencies_are_exactly_the_locked_ones_with_hashes(uv, uv_env, tmp_path):
    builder, runtime = _stage("builder"), _stages()[-1]
    copies = " ".join(rest for word, rest in builder if word == "COPY")
    assert "uv.lock" in copies and "scripts/locked_uv.py" in copies
    commands = _commands(builder)
    # uv itself: the version and hashes uv.lock records (tests/repo/test_lock.py checks the
    # script), installed by pip with every hash checked.
    assert "python scripts/locked_uv.py uv.lock > /tmp/uv.txt" in commands
    assert "/opt/build/bin/pip install --require-hashes --no-deps -r /tmp/uv.txt" in commands
    # The build backend too: the locked `build` group, hashed, and no isolated build of its own.
    assert any(" export --locked " in c and "--only-group build" in c for c in commands)
    assert "/opt/build/bin/pip install --require-hashes --no-deps -r /tmp/build.txt" in commands
    # The runtime set: run the Dockerfile's own export command here, offline, from the lock.
    (export,) = [c for c in commands if "--output-file /wheels/requirements.txt" in c]
    out = tmp_path / "requirements.txt"
    args = shlex.split(export.replace("/wheels/requirements.txt", str(out)))
    assert args[:3] == ["/opt/build/bin/uv", "export", "--locked"], args
    subprocess.run([str(uv), *args[1:]], cwd=ROOT, env=uv_env, check=True, timeout=120,
                   capture_output=True)
    pins = _requirements(out.read_text())
    locked = {p["name"]: p for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    for name, (version, hashes) in pins.items():
        assert locked[name]["version"] == version, name
        files = [*locked[name].get("wheels", []), *([locked[name]["sdist"]]
                                                    if "sdist" in locked[name] else [])]
        assert hashes, f"{name} is exported without hashes"
        assert set(hashes) <= {f["hash"] for f in files}, f"{name}: hashes not in uv.lock"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower()
                for d in project["dependencies"]}
    assert required <= set(pins), f"not exported: {required - set(pins)}"
    assert not {"pytest", "uv", "ruff", "drs-pause-operator"} & set(pins), "dev tools or project"
    # pip fetches exactly those, hashes checked, as wheels; the runtime installs them offline.
    assert ("/opt/build/bin/pip download --require-hashes --no-deps --only-binary=:all: "
            "--dest /wheels -r /wheels/requirements.txt") in commands
    assert ("pip install --no-index --find-links=/wheels --require-hashes --no-deps "
            "-r /wheels/requirements.txt") in _commands(runtime)
    assert "pip check" in _commands(runtime)


def test_runs_as_numeric_non_root_user_65532():
    runtime = _stages()[-1]
    users = [rest for word, rest in runtime if word == "USER"]
    assert users, "the runtime stage sets no USER (it would run as root)"
    assert users[-1] == "65532:65532"
    runs = " ".join(rest for word, rest in runtime if word == "RUN")
    assert "--uid 65532" in runs and "--gid 65532" in runs
    # Nothing after USER switches back to root.
    last_user = max(i for i, (word, _) in enumerate(runtime) if word == "USER")
    assert all(word != "RUN" for word, _ in runtime[last_user:])


def test_entrypoint_is_the_console_script_and_cmd_is_run():
    runtime = _stages()[-1]
    entrypoint = [json.loads(rest) for word, rest in runtime if word == "ENTRYPOINT"]
    cmd = [json.loads(rest) for word, rest in runtime if word == "CMD"]
    assert entrypoint == [["drs-pause-operator"]], "ENTRYPOINT must be the exec form"
    assert cmd == [["run"]]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "drs-pause-operator" in scripts


def test_exposes_the_ports_the_chart_uses():
    runtime = _stages()[-1]
    exposed = " ".join(rest for word, rest in runtime if word == "EXPOSE").split()
    values = (ROOT / "charts" / "drs-pause-operator" / "values.yaml").read_text()
    for port in ("8080", "9090"):
        assert port in exposed
        assert f"port: {port}" in values


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus **) as a regex over a relative path."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: a pattern matches a path or one of its parent folders; the last matching
    pattern wins and a leading '!' re-includes."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _glob_regex(pattern.lstrip("!").strip("/"))
        if any(regex.match(c) for c in candidates):
            ignored = not negate
    return ignored


@pytest.mark.parametrize(
    ("path", "needed"),
    [
        ("pyproject.toml", True),
        ("uv.lock", True),
        ("README.md", True),
        ("scripts/locked_uv.py", True),
        ("scripts/venv.sh", False),
        ("operator/drs_pause_operator/__init__.py", True),
        ("operator/drs_pause_operator/devcluster/gomod/kube/go.mod", True),
        ("tests/e2e/conftest.py", False),
        (".git/config", False),
        ("operator/drs_pause_operator/__pycache__/cli.cpython-311.pyc", False),
        ("operator/drs_pause_operator.egg-info/PKG-INFO", False),
    ],
)
def test_build_context_holds_what_the_build_needs_and_nothing_else(path, needed):
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert _ignored(path, patterns) is (not needed)


def test_base_image_is_a_build_argument_defaulting_to_the_public_python_image():
    froms = [rest for word, rest in _instructions() if word == "FROM"]
    default = _args()["PYTHON_IMAGE"]
    # The default names a stage that is just the public image (so Dependabot sees it).
    assert froms[0] == f"python:3.11-slim-bookworm AS {default}", froms
    assert dict(_stage_bases())[default] == "python:3.11-slim-bookworm"
    assert len(_stages()[0]) == 1, "the default base stage adds nothing to the image"
    assert all(f.startswith("${PYTHON_IMAGE} AS ") for f in froms[1:]), froms


def test_chart_default_image_is_what_the_release_workflow_publishes():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yaml").read_text())
    values = yaml.safe_load((ROOT / "charts" / "drs-pause-operator" / "values.yaml").read_text())
    chart = yaml.safe_load((ROOT / "charts" / "drs-pause-operator" / "Chart.yaml").read_text())
    assert values["image"]["repository"] == workflow["env"]["IMAGE"]
    # An empty tag means the chart's appVersion: the release workflow tags the image with the
    # version of the git tag, which must equal appVersion (checked by the workflow).
    assert values["image"]["tag"] == ""
    build = next(step for step in workflow["jobs"]["image"]["steps"]
                 if str(step.get("uses", "")).startswith("docker/build-push-action"))
    assert build["with"]["push"] is True
    assert "linux/arm64" in build["with"]["platforms"]
    assert build["with"]["provenance"]
    assert "{{version}}" in str(workflow["jobs"]["image"]["steps"])
    assert chart["appVersion"]
