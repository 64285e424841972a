#!/usr/bin/env bash
# Installs the Debian packages the one-node test cluster and the image build need, when missing:
# containerd + runc + CNI plugins run the pods, buildah + mmdebstrap build the image here (no
# Docker engine, no registry). Needs root (apt-get); does nothing when everything is present.
set -euo pipefail
packages=(containerd runc containernetworking-plugins buildah mmdebstrap iproute2 uidmap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
