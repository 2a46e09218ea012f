#!/usr/bin/env bash
# Installs, from Debian's packages, what Sluice's tests use besides npm packages: the real protocol
# peers and browser listed in scripts/peers.mjs, and the toolchain that builds better-sqlite3.
# Run as root or with sudo: `sudo bash scripts/install-peers.sh`. Installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a peers <<<"$(node --input-type=module -e \
  "import { peers } from './scripts/peers.mjs'; console.log(Object.values(peers).map((peer) => peer.apt).join(' '))")"
packages=("${peers[@]}" g++ make python3)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-peers: everything is installed"
  exit 0
fi
echo "install-peers: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
