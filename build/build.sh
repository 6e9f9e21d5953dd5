#!/usr/bin/env bash
# Build the bundle (build/dist/fx-execution-console) and check that it runs:
#   the console answers --version headless, the engine executes a sample RPMOutput on the simulator and
#   upgrades a store of release 0.1.0.
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
# The bundled migrations upgrade a store of release 0.1.0, which then verifies.
cp tests/fixtures/stores/release-0.1.0.sqlite.db "$DATA/release.db"
"$BUNDLE/execution-engine" db upgrade --db "sqlite:///$DATA/release.db"
"$BUNDLE/execution-engine" db current --db "sqlite:///$DATA/release.db" | grep -q '(head)'
EXEC_AUDIT_KEY=fixture-audit-key-0123456789abcdef "$BUNDLE/execution-engine" verify --db "sqlite:///$DATA/release.db"
echo "bundle OK: $BUNDLE"
