#!/usr/bin/env bash
# Install the Debian packages the test suite needs, if any is missing (needs root or sudo).
set -euo pipefail
PACKAGES=(espeak-ng sox redis-server postgresql chromium chromium-driver)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} == 0 ]] && exit 0
SUDO=""; [[ $(id -u) == 0 ]] || SUDO=sudo
echo "installing system packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
