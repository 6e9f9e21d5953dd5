"""Every trace kept in tests/traces/ replays on the simulator without a divergence.

Today's were recorded from the simulator under each scenario in resources/scenarios/ (record.py):
a change in the simulator's behaviour shows here as a divergence, to be explained or re-recorded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.trace.replay import check_trace

HERE = Path(__file__).parent
SCENARIOS = HERE.parent.parent / "resources" / "scenarios"
TRACES = sorted(HERE.glob("*.jsonl"))


def scenario_for(trace: Path) -> Path | None:
    """The scenario of the same name beside the trace, else in resources/scenarios/; else the defaults."""
    for folder in (HERE, SCENARIOS):
        if (folder / f"{trace.stem}.toml").exists():
            return folder / f"{trace.stem}.toml"
    return None


def test_every_scenario_has_its_trace() -> None:
    missing = {s.stem for s in SCENARIOS.glob("*.toml")} - {t.stem for t in TRACES}
    assert not missing, f"record them: PYTHONPATH=. python tests/traces/record.py {' '.join(sorted(missing))}"


@pytest.mark.parametrize("trace", TRACES, ids=[t.stem for t in TRACES])
def test_the_trace_replays_on_the_simulator_without_divergence(trace: Path) -> None:
    report = check_trace(trace, scenario_for(trace))
    assert report.calls > 0
    assert not report.divergences, "\n".join(d.text() for d in report.divergences)
