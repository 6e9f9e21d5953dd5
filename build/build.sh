#!/usr/bin/env bash
# Build the bundle (build/dist/fx-execution-console) and check that it runs:
#   the console answers --version headless, and the engine executes a sample RPMOutput on the simulator.
# Windows: run build\build.ps1 instead (same steps).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${BUILD_VENV:-build/work/venv}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet -e . "pyinstaller>=6.5"
"$VENV/bin/pyinstaller" --noconfirm --log-level WARN --distpath build/dist --workpath build/work/pyinstaller \
  build/execution-console.spec
BUNDLE=build/dist/fx-execution-console
export QT_QPA_PLATFORM=offscreen
"$BUNDLE/execution-console" --version
DATA=$(mktemp -d)
"$BUNDLE/execution-engine" execute resources/samples/approved_eurusd.json --broker sim --data-dir "$DATA" \
  | tee "$DATA/confirmation.json"
grep -q '"status": "FILLED"' "$DATA/confirmation.json"
echo "bundle OK: $BUNDLE"
