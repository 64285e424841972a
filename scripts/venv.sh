#!/usr/bin/env bash
# Prints the path of the project's virtualenv, creating it first when missing. The venv lives
# outside the repository, keyed by the Python version and a hash of the dependency lists in
# pyproject.toml, so a changed dependency list gets a fresh venv and an unchanged one is reused.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
cache=${DRS_PAUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drs-pause-operator}
# Only the dependency lists count: editing tool settings in pyproject.toml keeps the venv.
key=$("$py" - "$root/pyproject.toml" <<'PY'
import hashlib, json, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
deps = [project.get("dependencies"), project.get("optional-dependencies"), project.get("scripts")]
digest = hashlib.sha256(json.dumps(deps, sort_keys=True).encode()).hexdigest()[:12]
print("py%d.%d-%s" % (*sys.version_info[:2], digest))
PY
)
venv="$cache/venv/$key"
mkdir -p "$cache/venv"
# Serialise concurrent callers (parallel make targets, test helpers) on one lock.
exec 9>"$cache/venv/.lock"
flock 9
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "creating virtualenv $venv" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip >&2
  "$venv/bin/pip" install --quiet -e "$root[dev]" >&2
  touch "$venv/.complete"
fi
# An editable install points at one clone; make sure it points at this one.
if ! "$venv/bin/python" -c 'import drs_pause_operator, sys, pathlib; sys.exit(pathlib.Path(drs_pause_operator.__file__).resolve().is_relative_to(pathlib.Path(sys.argv[1]).resolve()) is False)' "$root" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --no-deps -e "$root" >&2
fi
echo "$venv"
