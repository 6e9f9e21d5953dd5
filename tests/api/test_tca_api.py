"""TCA through the API (issue 16 items 3 and 4): the record's `tca` and GET /tca, on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.interfaces.api.app import create_app
from tests.builders import rpm_payload
from tests.conftest import Harness, HarnessFactory
from tests.engine.test_tca import ManualClock, with_clock
from tests.engine.test_tca import fills_on_the_manual_clock as fills_on_the_manual_clock  # autouse here too

TOKEN = "tca-token"


@pytest.fixture
async def clocked(harness_factory: HarnessFactory) -> AsyncIterator[tuple[Harness, ManualClock, httpx.AsyncClient]]:
    h, clock = await with_clock(harness_factory, behaviour={"fill_slippage_points": 3})
    transport = httpx.ASGITransport(app=create_app(h.engine, TOKEN))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://engine", headers=headers) as client:
        yield h, clock, client


async def test_the_record_carries_the_tca_as_mark_outs_become_known(
    clocked: tuple[Harness, ManualClock, httpx.AsyncClient],
) -> None:
    h, clock, api = clocked
    confirmation = (await api.post("/execute", json=rpm_payload(units=10_000))).json()
    url = f"/executions/{confirmation['execution_id']}"
    tca = (await api.get(url)).json()["tca"]
    # Validated at 1.09500/1.09510; bought 3 points above the ask, at 1.09513.
    assert tca == {
        "arrival_mid": 1.09505,
        "spread_pips": 1.0,
        "slippage_vs_arrival_pips": 0.8,
        "markouts_pips": {"1s": None, "5s": None, "30s": None, "60s": None},
        "markouts_missing": [],
    }
    clock.advance(1)
    h.sim.set_quote("EURUSD", "1.09520", "1.09530")
    await h.engine.markouts.run_due()
    clock.advance(59)  # to the last moment
    await h.engine.markouts.run_due()
    tca = (await api.get(url)).json()["tca"]
    assert tca["markouts_pips"] == {"1s": -1.2, "5s": -1.2, "30s": -1.2, "60s": -1.2}  # the buy gained


async def test_a_record_without_a_fill_has_no_tca(clocked: tuple[Harness, ManualClock, httpx.AsyncClient]) -> None:
    _h, _clock, api = clocked
    confirmation = (await api.post("/execute", json=rpm_payload(symbol="NOPE"))).json()
    assert (await api.get(f"/executions/{confirmation['execution_id']}")).json()["tca"] is None


async def test_get_tca_groups_the_range_by_symbol(clocked: tuple[Harness, ManualClock, httpx.AsyncClient]) -> None:
    h, clock, api = clocked
    created = []
    for units in (10_000, 20_000):
        answer = await api.post("/execute", json=rpm_payload(units=units))
        record = (await api.get(f"/executions/{answer.json()['execution_id']}")).json()
        created.append(record["created_timestamp"][11:13])  # the UTC hour of arrival
    clock.advance(60)  # past every moment
    await h.engine.markouts.run_due()
    answer = await api.get("/tca", params={"start_date": "2000-01-01", "end_date": "2100-01-01", "group_by": "symbol"})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["group_by"] == "symbol" and report["start_date"] == "2000-01-01T00:00:00.000Z"
    [eur] = report["groups"]
    assert (eur["group"], eur["executions"], eur["sent"], eur["filled"], eur["fill_ratio"]) == ("EURUSD", 2, 2, 2, 1)
    assert eur["spread_pips_mean"] == 1
    assert eur["slippage_vs_arrival_pips"] == {"count": 2, "mean": 0.8, "p50": 0.8, "p90": 0.8, "stdev": 0}
    assert eur["markouts_pips"]["60s"] == {"count": 2, "mean": 0.8, "p50": 0.8, "p90": 0.8, "stdev": 0}
    by_hour = await api.get("/tca", params={"start_date": "2000-01-01", "end_date": "2100-01-01", "group_by": "hour"})
    assert {g["group"]: g["executions"] for g in by_hour.json()["groups"]} == {h: created.count(h) for h in created}


async def test_get_tca_names_a_bad_parameter(clocked: tuple[Harness, ManualClock, httpx.AsyncClient]) -> None:
    _h, _clock, api = clocked
    bad_group = await api.get("/tca", params={"start_date": "2027-01-01", "end_date": "2027-01-02", "group_by": "x"})
    assert bad_group.status_code == 422 and "group_by" in bad_group.text
    bad_date = await api.get("/tca", params={"start_date": "soon", "end_date": "2027-01-02"})
    assert bad_date.status_code == 422
    assert [e["field"] for e in bad_date.json()["detail"]] == ["start_date"]
    assert (await httpx.AsyncClient(transport=api._transport, base_url="http://engine").get("/tca")).status_code == 401
