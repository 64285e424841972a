#!/usr/bin/env bash
# Prints the path of the project's virtualenv, creating it first when missing. The venv holds the
# dependencies exactly as uv.lock pins them (the dev extra included), never the project itself:
# whoever runs it puts its own clone's operator/ on PYTHONPATH (the Makefile does), so clones that
# share the venv never run each other's code. It lives outside the repository, keyed by the
# Python version and a hash of uv.lock: a re-locked project gets a fresh venv, an unchanged one is
# reused. A uv.lock that no longer matches pyproject.toml is an error (run `uv lock`).
#
# uv itself comes from pip, at the version and with the hashes uv.lock records, into a small
# cached folder keyed by that version: python3 and pip are all a machine needs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lock="$root/uv.lock"
py=$(command -v "${PYTHON:-python3}") || { echo "no ${PYTHON:-python3} on PATH" >&2; exit 1; }
cache=${DRS_PAUSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drs-pause-operator}
[ -f "$lock" ] || { echo "$lock is missing: run \`uv lock\`" >&2; exit 1; }

pyver=$("$py" -I -S -c 'import sys; print("%d.%d" % sys.version_info[:2])')
uv_version=$(awk '/^name = "uv"$/ { found = 1; next }
                  found && /^version = / { gsub(/"/, "", $3); print $3; exit }' "$lock")
[ -n "$uv_version" ] || { echo "$lock pins no uv version" >&2; exit 1; }
lock_hash=$(sha256sum "$lock" | cut -c1-12)
tool="$cache/tools/uv-$uv_version"
venv="$cache/venv/py$pyver-$lock_hash"
mkdir -p "$cache/venv" "$cache/tools"
# Serialise concurrent callers (parallel make targets, test helpers) on one lock.
exec 9>"$cache/venv/.lock"
flock 9

if [ ! -x "$tool/bin/uv" ]; then
  echo "installing uv $uv_version into $tool" >&2
  rm -rf "$tool" "$tool.tmp"
  requirement=$(mktemp)
  trap 'rm -f "$requirement"' EXIT
  "$py" "$root/scripts/locked_uv.py" "$lock" >"$requirement"
  # --target needs no venv module (Debian's python3 may lack ensurepip) and ignores PEP 668.
  PIP_ROOT_USER_ACTION=ignore "$py" -m pip install --quiet --disable-pip-version-check \
    --no-deps --require-hashes --target "$tool.tmp" -r "$requirement" >&2
  mv "$tool.tmp" "$tool"
fi
uv="$tool/bin/uv"
# Never download a Python: the venv is made from $py. Trust the CAs this machine trusts (pip does;
# uv would otherwise take only its own bundle and fail behind a proxy with a CA of its own).
export UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=${UV_SYSTEM_CERTS:-1}

# Offline: an up-to-date lock is checked against pyproject.toml without the network.
if ! out=$("$uv" lock --check --offline --project "$root" 2>&1); then
  echo "uv.lock does not match pyproject.toml: run \`$uv lock\` and commit uv.lock" >&2
  sed 's/^/  uv: /' <<<"$out" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ] || [ ! -f "$venv/.complete" ]; then
  echo "creating virtualenv $venv from uv.lock" >&2
  rm -rf "$venv"
  UV_PROJECT_ENVIRONMENT="$venv" "$uv" sync --locked --no-install-project --extra dev \
    --project "$root" --python "$py" --quiet >&2
  touch "$venv/.complete"
fi
echo "$venv"
