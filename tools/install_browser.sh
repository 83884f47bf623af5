#!/usr/bin/env bash
# Install headless Chromium and its driver (Debian packages) for tests/test_docs.py and tests/test_jupyterlab.py,
# only when missing. Needs root (or sudo) and the Debian archive; a no-op where both are present.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "install_browser: chromium and chromedriver already present"; exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install_browser: need root or sudo to apt-get install chromium chromium-driver" >&2; exit 1
  fi
  SUDO="sudo"
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_browser: no apt-get here; install Chromium and chromedriver yourself" \
       "(the browser tests skip without them)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver fonts-liberation fonts-dejavu-core >/dev/null
echo "install_browser: $(chromium --version 2>/dev/null | tail -1); $(chromedriver --version | head -1)"
