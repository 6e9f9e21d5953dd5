"""`execution-engine sim-run` as a user runs it: a real subprocess, the user's own MetaTrader5 script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """\
import logging
import sys

import MetaTrader5 as mt5

logging.basicConfig(level=logging.INFO, format="log: %(message)s")  # the script's own logging
print(mt5.__author__, mt5.__version__, __name__, sys.argv[1:])
if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    quit()
tick = mt5.symbol_info_tick("EURUSD")
print("tick", tick.bid, tick.ask)
result = mt5.Buy("EURUSD", 0.1)
print("buy", result.retcode, result.price, result.comment)
logging.info("positions %d", mt5.positions_total())
mt5.shutdown()
sys.exit(int(sys.argv[1]) if sys.argv[1:] else 0)
"""


def sim_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.interfaces.cli", "sim-run", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_a_script_runs_unchanged_on_the_simulator(tmp_path: Path) -> None:
    (tmp_path / "trade.py").write_text(SCRIPT)
    done = sim_run("trade.py", "7", "--verbose", cwd=tmp_path)
    assert done.returncode == 7, done.stderr  # the script's exit status
    assert done.stdout.splitlines() == [
        "MetaQuotes Ltd. 5.0.6231 __main__ ['7', '--verbose']",
        "tick 1.095 1.0951",
        "buy 10009 1.0951 Request executed",
    ]
    assert done.stderr == "log: positions 1\n"


def test_the_scenario_file_is_the_simulators(tmp_path: Path) -> None:
    (tmp_path / "trade.py").write_text(SCRIPT)
    (tmp_path / "wide.toml").write_text("[symbols.EURUSD]\nbid = 1.2\nask = 1.2005\n")
    for args in (("trade.py", "--sim-scenario", "wide.toml"), ("--sim-scenario=wide.toml", "trade.py")):
        done = sim_run(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "tick 1.2 1.2005" in done.stdout.splitlines()


def test_a_missing_script_or_a_bad_scenario_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "trade.py").write_text(SCRIPT)
    (tmp_path / "bad.toml").write_text("[behaviour]\nlatency = 5\n")
    for args in (("nope.py",), ("trade.py", "--sim-scenario", "bad.toml"), ("trade.py", "--sim-scenario", "no.toml")):
        done = sim_run(*args, cwd=tmp_path)
        assert done.returncode == 2
        assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("execution-engine sim-run: ")
        assert "Traceback" not in done.stderr and done.stdout == ""
    assert "nope.py" in sim_run("nope.py", cwd=tmp_path).stderr
    assert "latency" in sim_run("trade.py", "--sim-scenario", "bad.toml", cwd=tmp_path).stderr


def test_the_scripts_own_failure_is_shown_as_python_shows_it(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("def check(mt5):\n    raise ValueError(f'no {mt5.__name__}')\n")
    (tmp_path / "fails.py").write_text("import MetaTrader5\nimport helper\n\nhelper.check(MetaTrader5)\n")
    done = sim_run("fails.py", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert 'File "fails.py", line 4, in <module>' in lines[1] and "helper.py" in lines[3]
    assert lines[-1] == "ValueError: no MetaTrader5"
    assert "app/" not in done.stderr and "runpy" not in done.stderr  # none of the runner's frames
    (tmp_path / "message.py").write_text("import sys\nsys.exit('stopped: no quotes')\n")
    done = sim_run("message.py", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (1, "stopped: no quotes\n")
