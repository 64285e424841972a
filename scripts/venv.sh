#!/usr/bin/env bash
# Prints the path of the project's virtualenv, creating it first when missing. The venv lives
# outside the repository, keyed by the Python version and a hash of pyproject.toml, so a changed
# dependency list gets a fresh venv and an unchanged one is reused across clones.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-python3}
cache=${DRS_PAUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drs-pause-operator}
key=$("$py" -c 'import sys; print("py%d.%d" % sys.version_info[:2])')-$(sha256sum "$root/pyproject.toml" | cut -c1-12)
venv="$cache/venv/$key"
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
