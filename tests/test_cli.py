"""`execution-engine` as a user runs it: a real subprocess, a data dir, the sample RPMOutputs."""

from __future__ import annotations

import csv
import json
import os
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.builders import json_text, rpm_payload

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "resources" / "samples"
SCENARIOS = ROOT / "resources" / "scenarios"


def cli(
    *args: str, data_dir: Path, env: dict[str, str] | None = None, umask: int = -1
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "EXEC_AUDIT_KEY": "cli-test-key-0123456789", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "app.interfaces.cli", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        cwd=ROOT,
        umask=umask,  # -1: the test process's own
    )


def test_execute_prints_the_confirmation(tmp_path: Path) -> None:
    done = cli("execute", str(SAMPLES / "approved_eurusd.json"), "--broker", "sim", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    confirmation = json.loads(done.stdout)
    assert confirmation["status"] == "FILLED"
    assert confirmation["rpm_order_id"] == "rpm_order_123"
    assert confirmation["executed_units"] == 95000


def test_execute_twice_returns_the_first_execution(tmp_path: Path) -> None:
    sample = str(SAMPLES / "approved_eurusd.json")
    first = json.loads(cli("execute", sample, "--broker", "sim", data_dir=tmp_path).stdout)
    second = json.loads(cli("execute", sample, "--broker", "sim", data_dir=tmp_path).stdout)
    assert second["execution_id"] == first["execution_id"]
    state = json.loads((tmp_path / "sim-state.json").read_text())
    assert len(state["orders"]) == 1  # the simulated broker holds one order, not two


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("EXEC_MAX_SLIPPAGE_PIPS", "1000000", "no more than 6 digits before the decimal point"),
        ("EXEC_MAX_SLIPPAGE_PIPS", "0.125", "no more than 2 decimal places"),
        ("EXEC_ORDER_TIMEOUT_S", "0.0125", "at most 3 decimals (milliseconds)"),
        ("EXEC_ORDER_TIMEOUT_S", "1e8", "less than or equal to 86400"),
    ],
)
def test_a_setting_the_store_could_not_record_exactly_is_refused_at_start(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    sample = str(SAMPLES / "approved_eurusd.json")
    done = cli("execute", sample, "--broker", "sim", data_dir=tmp_path, env={variable: value})
    assert done.returncode != 0
    field = variable.removeprefix("EXEC_").lower()
    assert field in done.stderr and message in done.stderr, done.stderr
    assert not (tmp_path / "executions.db").exists()  # refused before anything was opened


def test_execute_an_invalid_file_names_the_field_and_records_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "decision": {
                    "status": "APPROVED",
                    "order_id": "x",
                    "approved_trade": {"symbol": "EURUSD", "direction": 2, "position_units": 1000},
                },
                "portfolio_state": {"trading_halted": False},
            }
        )
    )
    done = cli("execute", str(bad), "--broker", "sim", data_dir=tmp_path)
    assert done.returncode == 2
    assert "decision.approved_trade.direction" in done.stderr
    verify = cli("verify", data_dir=tmp_path)
    assert verify.returncode == 0 and "1 events" in verify.stdout


def test_execute_prints_and_exports_the_numbers_exactly_as_sent(tmp_path: Path) -> None:
    units, score = "123456789012.12345678", "0.123456789012345678901234567890"  # past a float's 17 digits
    file = tmp_path / "exact.json"
    file.write_text(json_text(rpm_payload(units="@units@", confidence_score="@score@"), units=units, score=score))
    done = cli("execute", str(file), "--broker", "sim", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout, parse_float=Decimal)["intended_units"] == Decimal(units)
    out = tmp_path / "audit.csv"
    done = cli("export", "--start-date", "2000-01-01", "--end-date", "2100-01-01", "--out", str(out), data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    [row] = csv.DictReader(out.read_text().splitlines())
    # Every digit kept (a float would keep 17); the CSV drops only zeros that say nothing (…890 is …89).
    assert (Decimal(row["intended_units"]), Decimal(row["confidence_score"])) == (Decimal(units), Decimal(score))
    assert (row["intended_units"], row["confidence_score"]) == (units, score.rstrip("0"))


@pytest.mark.parametrize(
    ("sample", "scenario", "status", "reason"),
    [
        ("approved_eurusd.json", "wide_spread.toml", "REJECTED", "SPREAD_TOO_WIDE"),
        ("approved_eurusd.json", "market_closed.toml", "REJECTED", "MARKET_CLOSED"),
        ("approved_eurusd.json", "partial_fill.toml", "PARTIALLY_FILLED", None),
        ("rpm_rejected.json", None, "REJECTED", "RPM_REJECTED"),
        ("halted.json", None, "REJECTED", "TRADING_HALTED"),
        ("invalid_volume.json", None, "REJECTED", "INVALID_VOLUME"),
        ("approved_usdjpy_short.json", None, "FILLED", None),
        ("approved_eurusd.json", "instant.toml", "FILLED", None),
        ("approved_usdjpy_short.json", "instant.toml", "FILLED", None),
        ("approved_eurusd.json", "exchange.toml", "FILLED", None),
        ("approved_usdjpy_short.json", "exchange.toml", "FILLED", None),
    ],
)
def test_samples_run_against_their_scenarios(
    tmp_path: Path, sample: str, scenario: str | None, status: str, reason: str | None
) -> None:
    args = ["execute", str(SAMPLES / sample), "--broker", "sim"]
    if scenario:
        args += ["--sim-scenario", str(SCENARIOS / scenario)]
    done = cli(*args, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    confirmation = json.loads(done.stdout)
    assert (confirmation["status"], confirmation["rejection_reason"]) == (status, reason)


def test_verify_export_and_backup_after_executions(tmp_path: Path) -> None:
    assert cli("execute", str(SAMPLES / "approved_eurusd.json"), "--broker", "sim", data_dir=tmp_path).returncode == 0
    assert cli("execute", str(SAMPLES / "rpm_rejected.json"), "--broker", "sim", data_dir=tmp_path).returncode == 0
    out = tmp_path / "audit.csv"
    done = cli("export", "--start-date", "2000-01-01", "--end-date", "2100-01-01", "--out", str(out), data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("execution_id,rpm_order_id,")
    assert len(lines) == 3
    backup = tmp_path / "copy.db"
    assert cli("backup", "--out", str(backup), data_dir=tmp_path).returncode == 0
    copy = cli("verify", "--db", f"sqlite:///{backup}", data_dir=tmp_path)
    assert copy.returncode == 0, copy.stdout + copy.stderr
    assert "2 executions" in copy.stdout


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX; on Windows the data dir's ACL is the user's")
def test_export_and_backup_are_owner_only_whatever_the_callers_umask(tmp_path: Path) -> None:
    sample = str(SAMPLES / "approved_eurusd.json")
    assert cli("execute", sample, "--broker", "sim", data_dir=tmp_path, umask=0o022).returncode == 0
    out, backup = tmp_path / "reports" / "audit.csv", tmp_path / "copies" / "copy.db"
    dates = ("--start-date", "2000-01-01", "--end-date", "2100-01-01")
    assert cli("export", *dates, "--out", str(out), data_dir=tmp_path, umask=0o022).returncode == 0
    assert cli("backup", "--out", str(backup), data_dir=tmp_path, umask=0o022).returncode == 0

    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (out, backup, out.parent, backup.parent)}
    assert modes == {"audit.csv": 0o600, "copy.db": 0o600, "reports": 0o700, "copies": 0o700}
