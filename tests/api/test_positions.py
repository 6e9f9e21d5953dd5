"""GET /positions and GET /account: the broker's positions and the account's figures, numbers exact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from app.adapters.broker.volume import exact
from app.domain import jsontext
from app.interfaces.api.app import create_app
from tests.builders import rpm_payload
from tests.conftest import Harness, HarnessFactory
from tests.trades import MANUAL, trade_at_the_broker

TOKEN = "in-process-token"


async def client_of(harness: Harness) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(harness.engine, TOKEN))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.AsyncClient(transport=transport, base_url="http://engine", headers=headers)


@pytest.fixture
async def client(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_of(harness) as c:
        yield c


def exact_json(response: httpx.Response) -> dict[str, object]:
    """The body with its numbers as the exact decimals written (never through a float)."""
    body: dict[str, object] = jsontext.loads(response.text)
    return body


@pytest.mark.parametrize("margin_mode", ["hedging", "netting"])
async def test_the_positions_of_the_console_per_side_with_a_foreign_one_apart(
    harness_factory: HarnessFactory, margin_mode: str
) -> None:
    h: Harness = await harness_factory(account={"margin_mode": margin_mode})
    async with await client_of(h) as client:
        await client.post("/execute", json=rpm_payload(units=100_000))
        await client.post("/execute", json=rpm_payload(units=40_000, direction=-1))
        await client.post("/execute", json=rpm_payload(symbol="GBPUSD", units=10_000, direction=-1))
        if margin_mode == "hedging":  # on a netting account a manual EURUSD trade would join ours
            trade_at_the_broker(h.sim, magic=MANUAL, comment="by hand", lots=0.25)
        h.sim.set_quote("EURUSD", "1.09300", "1.09310")  # 20 pips down from the fills

        answer = await client.get("/positions")

    assert answer.status_code == 200
    body = exact_json(answer)
    assert body["currency"] == "USD" and str(body["read_at"]).endswith("Z")
    lines = body["positions"]
    assert isinstance(lines, list)
    held = [(p["symbol"], p["direction"], p["owner"], p["lots"], p["units"]) for p in lines]
    if margin_mode == "hedging":
        assert held == [
            ("EURUSD", 1, "console", Decimal(1), Decimal(100_000)),
            ("EURUSD", -1, "console", Decimal("0.4"), Decimal(40_000)),
            ("GBPUSD", -1, "console", Decimal("0.1"), Decimal(10_000)),
            ("EURUSD", 1, "foreign", Decimal("0.25"), Decimal(25_000)),
        ]
        assert lines[0]["profit"] < 0 < lines[1]["profit"]  # the market fell: the long loses, the short gains
    else:
        assert held == [
            ("EURUSD", 1, "console", Decimal("0.6"), Decimal(60_000)),
            ("GBPUSD", -1, "console", Decimal("0.1"), Decimal(10_000)),
        ]
        assert lines[0]["profit"] < 0
    eur = lines[0]
    assert (eur["average_price"], eur["current_price"]) == (Decimal("1.0951"), Decimal("1.093"))
    assert eur["mismatch"] is None and eur["swap"] == 0
    positions = h.sim.positions_get() or ()
    assert body["profit"] == sum((exact(p.profit) for p in positions), Decimal(0)) == exact(h.sim.account_info().profit)
    assert sorted(t for p in lines for t in p["tickets"]) == sorted(str(p.ticket) for p in positions)
    assert (body["mismatches"], body["reconciled_at"]) == ([], None)


async def test_a_mismatch_is_marked_on_the_positions_of_its_symbol(harness: Harness, client: httpx.AsyncClient) -> None:
    await client.post("/execute", json=rpm_payload(units=100_000))
    trade_at_the_broker(harness.sim, magic=harness.broker.magic, comment="hedge by hand", lots=0.5)
    assert (await client.get("/reconciliation")).json()["status"] == "mismatch"

    body = (await client.get("/positions")).json()

    (line,) = body["positions"]
    mismatch = {"symbol": "EURUSD", "recorded_units": 100000, "broker_units": 150000, "difference": 50000}
    assert line["mismatch"] == {**mismatch, "state": "mismatch"}
    assert body["mismatches"] == [line["mismatch"]]
    assert body["reconciled_at"].endswith("Z")


async def test_the_account_as_the_terminal_reports_it(harness: Harness, client: httpx.AsyncClient) -> None:
    flat = exact_json(await client.get("/account"))
    assert (flat["balance"], flat["equity"], flat["margin"], flat["margin_level"]) == (100_000, 100_000, 0, None)
    assert (flat["currency"], flat["margin_mode"], flat["leverage"]) == ("USD", "hedging", 30)

    await client.post("/execute", json=rpm_payload(units=100_000))
    answer = await client.get("/account")

    assert answer.status_code == 200
    body = exact_json(answer)
    info = harness.sim.account_info()
    for name in ("balance", "equity", "profit", "margin", "margin_free", "margin_level"):
        assert body[name] == exact(getattr(info, name)), name
    assert body["equity"] == body["balance"] + body["profit"]


async def test_without_the_broker_both_say_so_in_a_line(harness: Harness, client: httpx.AsyncClient) -> None:
    harness.sim.set_connected(False)
    for path, what in (("/positions", "positions"), ("/account", "the account")):
        answer = await client.get(path)
        assert answer.status_code == 503
        assert answer.json()["detail"].startswith(f"the broker cannot be reached: {what} not read")
