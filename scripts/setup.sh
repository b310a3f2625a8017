#!/usr/bin/env bash
# Set up undercount in ./.venv from the project's own files.
#   bash scripts/setup.sh          # the package and its command-line tool
#   bash scripts/setup.sh --test   # also the test tools, pyspark, headless Chromium, pdftoppm
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install -q -e '.[dev,spark]'
  # Report tests render in headless Chromium; they skip with a reason if it cannot be had.
  bash scripts/install_browser.sh || echo "setup.sh: Chromium/pdftoppm not installed; browser tests will skip" >&2
else
  .venv/bin/python -m pip install -q -e .
fi
