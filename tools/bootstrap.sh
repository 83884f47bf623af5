#!/usr/bin/env bash
# Create or reuse .venv and install the pinned dependencies from settings.ini.
# Idempotent: a stamp keyed on the hash of settings.ini and setup.py skips the install next time.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null 2>&1; then PY=$cand; break; fi
  done
fi
[ -n "$PY" ] || { echo "bootstrap: no python3 found; install Python 3.10+ first" >&2; exit 1; }
hash=$(cat settings.ini setup.py pyproject.toml | sha256sum | cut -c1-16)
stamp="$VENV/.deepfovea_nb-deps-$hash"
if [ -f "$stamp" ]; then exit 0; fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
echo "bootstrap: installing pinned dependencies (torch is large: a minute or more the first time)"
"$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel
"$VENV/bin/python" -m pip install -q -e ".[dev]"
"$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
rm -f "$VENV"/.deepfovea_nb-deps-*
touch "$stamp"
echo "bootstrap: done"
