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
# The bundled migrations upgrade a store of release 0.1.0, which then verifies.
$release = Join-Path $data "release.db"
Copy-Item tests\fixtures\stores\release-0.1.0.sqlite.db $release
& "$bundle\execution-engine.exe" db upgrade --db "sqlite:///$release"
if ($LASTEXITCODE -ne 0) { throw "db upgrade failed" }
$env:EXEC_AUDIT_KEY = "fixture-audit-key-0123456789abcdef"
& "$bundle\execution-engine.exe" verify --db "sqlite:///$release"
if ($LASTEXITCODE -ne 0) { throw "verify failed on the upgraded store" }
Write-Host "bundle OK: $bundle"
