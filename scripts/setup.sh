#!/usr/bin/env bash
# Installs what stealio needs from Debian's packages (Debian 12). Idempotent, no prompts:
# packages already installed are left alone, and apt runs only when something is missing.
set -euo pipefail

PACKAGES=(g++ cmake ninja-build libtbb-dev libabsl-dev libgtest-dev libbenchmark-dev)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo -n"; fi
echo "setup: installing ${missing[*]}"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
