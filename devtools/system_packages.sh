#!/usr/bin/env bash
# The Debian packages the image tests need: buildah builds and runs the agent image, debootstrap
# makes the stand-in for its base. `make test` and `.ci/run` both call this, so a newcomer's
# `make test` runs the same tests CI runs. Installs only what is missing, once per machine.
#
# Never fails the caller: where it cannot install (not root, no apt-get, no network) it says so
# and writes the reason to .build/system-packages.missing, which the test run repeats in its
# last lines (and, under CI=true, turns the image tests' skips into failures).
set -uo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(buildah debootstrap)
REPORT=${SYSTEM_PACKAGES_REPORT:-.build/system-packages.missing}
mkdir -p "$(dirname "$REPORT")"
rm -f "$REPORT"

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

why=""
if ! command -v apt-get >/dev/null 2>&1; then
  why="no apt-get on this machine"
elif [ "$(id -u)" != 0 ]; then
  why="not root (run 'sudo apt-get install -y ${missing[*]}' once)"
else
  echo "installing ${missing[*]} for the image tests (apt-get, once per machine)"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    why="apt-get install ${missing[*]} failed"
  fi
fi
if [ -n "$why" ]; then
  echo "the image tests will be skipped: ${missing[*]} not installed: $why" | tee "$REPORT" >&2
fi
exit 0
