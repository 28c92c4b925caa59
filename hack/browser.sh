#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests when it is missing.
# When it cannot (not root, no apt-get), the browser tests skip loudly.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$ROOT/bin"
ENV="$ROOT/bin/.browser-env"
if command -v chromium >/dev/null 2>&1; then
  echo "export FERRY_CHROMIUM=$(command -v chromium)" >"$ENV"; exit 0
fi
if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing chromium with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  if (apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
      { apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }); then
    echo "export FERRY_CHROMIUM=$(command -v chromium)" >"$ENV"; exit 0
  fi
fi
cat >&2 <<MSG
################################################################
##  chromium is missing and could not be installed (need root  ##
##  and apt-get). THE BROWSER TESTS WILL BE SKIPPED.           ##
################################################################
MSG
echo "export FERRY_NO_CHROMIUM=1" >"$ENV"
