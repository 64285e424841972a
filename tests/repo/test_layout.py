"""The unit tests mirror the package: ``tests/unit/<layer>/test_<name>.py`` tests
``operator/drs_pause_operator/<layer>/<module>.py``, where ``<name>`` is ``<module>`` or starts
with ``<module>_`` (an aspect: ``test_legs_properties.py``). Sub-packages mirror as folders
(``dev/devcluster/`` -> ``tests/unit/dev/devcluster/``). No test sits in ``tests/unit/`` itself,
and the only other files there are the shared helpers named in :data:`HELPERS`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "tests" / "unit"
PACKAGE = ROOT / "operator" / "drs_pause_operator"

#: Modules of the unit tests that are not tests: package markers and shared test helpers.
HELPERS = frozenset(
    {"__init__.py", "conftest.py", "values.py", "fakes.py", "strategies.py", "harness.py"}
)

#: Test files directly in tests/unit/: none (packaging and repository checks live in tests/repo/).
UNIT_ROOT_FOR_NOW: frozenset[str] = frozenset()

#: Test files whose place or name does not follow the rule yet, each with the module it tests
#: (where it belongs). Each entry goes when its file is moved or renamed.
NOT_YET_MOVED: dict[str, str] = {}


def _modules(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.py") if p.name != "__init__.py")


def misplaced(unit: Path, package: Path) -> dict[str, str]:
    """Every file under ``unit`` that breaks the layout (its path there), with the reason."""
    problems = {}
    for path in sorted(unit.rglob("*.py")):
        rel = path.relative_to(unit)
        where = rel.as_posix()
        if not path.name.startswith("test_"):
            if path.name not in HELPERS:
                problems[where] = (
                    f"neither a test (test_*.py) nor a shared helper ({', '.join(sorted(HELPERS))})"
                )
            continue
        if len(rel.parts) == 1:
            problems[where] = (
                "a test directly in the unit tests' folder; put it in the folder of the layer of "
                "the module it tests (packaging and repository checks go in tests/repo/)"
            )
            continue
        layer = package.joinpath(*rel.parts[:-1])
        layer_name = "/".join(rel.parts[:-1])
        if not (layer / "__init__.py").is_file():
            problems[where] = (
                f"{package.name}/{layer_name}/ is not a package of the operator; a test goes in "
                "the folder of its module's layer"
            )
            continue
        name = path.stem.removeprefix("test_")
        modules = _modules(layer)
        if not any(name == m or name.startswith(m + "_") for m in modules):
            problems[where] = (
                f"names no module of {package.name}/{layer_name}/; call it test_<module>.py or "
                f"test_<module>_<aspect>.py for one of: {', '.join(modules)}"
            )
    return problems


def test_unit_tests_mirror_the_package() -> None:
    allowed = UNIT_ROOT_FOR_NOW | set(NOT_YET_MOVED)
    problems = {w: why for w, why in misplaced(UNIT, PACKAGE).items() if w not in allowed}
    if problems:
        pytest.fail(
            f"{len(problems)} file(s) out of place in tests/unit/:\n"
            + "\n".join(f"  tests/unit/{where}: {why}" for where, why in problems.items()),
            pytrace=False,
        )


def test_the_exceptions_are_files_that_break_the_rule() -> None:
    """A listed file that follows the rule needs no exception, and one that is gone has been
    moved: either way its entry goes."""
    flagged = misplaced(UNIT, PACKAGE)
    listed = UNIT_ROOT_FOR_NOW | set(NOT_YET_MOVED)
    needless = sorted(rel for rel in listed if not (UNIT / rel).exists() or rel not in flagged)
    assert needless == [], f"listed but gone or laid out as the rule wants: {needless}"
    targets = [t.split(" ")[0] for t in NOT_YET_MOVED.values()]
    assert [t for t in targets if not (PACKAGE / t).is_file()] == []


# --- the rule itself, on small trees --------------------------------------------------------


def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def test_the_rule_finds_each_kind_of_misplaced_file(tmp_path: Path) -> None:
    package, unit = tmp_path / "pkg", tmp_path / "unit"
    _tree(package, ["__init__.py", "cli.py", "resource/__init__.py", "resource/legs.py",
                    "resource/status.py", "dev/__init__.py", "dev/devcluster/__init__.py",
                    "dev/devcluster/build.py"])
    good = ["__init__.py", "values.py", "resource/__init__.py", "resource/test_legs.py",
            "resource/test_legs_properties.py", "resource/test_status.py", "resource/fakes.py",
            "dev/devcluster/test_build.py", "dev/devcluster/test_build_gomod.py"]
    bad = {
        "test_cli.py": "a test directly in the unit tests' folder",
        "operator/test_legs.py": "pkg/operator/ is not a package",
        "resource/test_reconcile.py": "names no module of pkg/resource/",
        "resource/test_legsx.py": "names no module of pkg/resource/",
        "resource/test_resource_legs.py": "names no module of pkg/resource/",
        "dev/test_build.py": "names no module of pkg/dev/",
        "resource/helpers.py": "neither a test",
    }
    _tree(unit, good + list(bad))
    problems = misplaced(unit, package)
    assert set(problems) == set(bad), problems
    for rel, why in bad.items():
        assert why in problems[rel], (rel, problems[rel])
