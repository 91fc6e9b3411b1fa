#!/usr/bin/env bash
# Set up a fresh machine and run every test: a venv with requirements-dev.txt, Debian's
# Chromium for the browser tests, then pytest. Safe to run again: steps already done are quick.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .  # the package: API, CLIs
.venv/bin/python -m ipykernel install --user --name python3 >/dev/null 2>&1 || true
export TF_CPP_MIN_LOG_LEVEL=2 HF_HUB_OFFLINE=1 GRADIO_ANALYTICS_ENABLED=False
exec .venv/bin/python -m pytest -q "$@"
