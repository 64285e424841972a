"""Print uv's pip requirement as uv.lock pins it: ``uv==VERSION --hash=sha256:...`` (one hash per
wheel, so pip takes the wheel of any platform and checks it).

uv installs everything else from the lock; this is how pip installs uv itself, with hashes, where
only Python and pip exist (scripts/venv.sh, the Dockerfile's builder stage).

    python3 scripts/locked_uv.py [uv.lock]            # the requirement line
    python3 scripts/locked_uv.py --version [uv.lock]  # the version only
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path


def locked_uv(lock: Path) -> tuple[str, list[str]]:
    """uv's version and its wheels' hashes in ``lock``."""
    packages = [p for p in tomllib.loads(lock.read_text())["package"] if p["name"] == "uv"]
    if len(packages) != 1:
        raise SystemExit(f"{lock}: expected one locked uv package, found {len(packages)}")
    (package,) = packages
    hashes = [wheel["hash"] for wheel in package.get("wheels", [])]
    if not hashes or not all(h.startswith("sha256:") for h in hashes):
        raise SystemExit(f"{lock}: uv {package['version']} has no sha256-hashed wheels")
    return package["version"], hashes


def main(argv: list[str]) -> int:
    version_only = "--version" in argv
    args = [a for a in argv if a != "--version"]
    lock = Path(args[0]) if args else Path(__file__).resolve().parents[1] / "uv.lock"
    version, hashes = locked_uv(lock)
    pins = [f"uv=={version}", *(f"--hash={h}" for h in hashes)]
    print(version if version_only else " ".join(pins))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
