# Build the Windows bundle (build\dist\fx-execution-console) on the MT5 host and check that it runs.
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")
if (-not (Test-Path build\work\venv)) { python -m venv build\work\venv }
build\work\venv\Scripts\python -m pip install --quiet -e . "pyinstaller>=6.5"
build\work\venv\Scripts\pyinstaller --noconfirm --log-level WARN --distpath build\dist --workpath build\work\pyinstaller build\execution-console.spec
$bundle = "build\dist\fx-execution-console"
& "$bundle\execution-console.exe" --version
$data = Join-Path $env:TEMP ("fx-bundle-check-" + [guid]::NewGuid())
& "$bundle\execution-engine.exe" execute resources\samples\approved_eurusd.json --broker sim --data-dir $data
Write-Host "bundle OK: $bundle"
