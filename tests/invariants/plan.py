"""A seeded plan of a randomized run: the broker's faults, the engine's settings, and the operations.

The same seed gives the same plan: the scenario (latency per call, fills at random moments, partial
fills, requotes, answers lost before and after the broker acted), the RPMOutputs (some sent twice)
and the nemesis' moves (terminal link drops, cancels racing fills, reconciliation passes racing
executions, SIGKILLs of `serve`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from tests.builders import rpm_payload

SYMBOLS = ("EURUSD", "USDJPY", "GBPUSD", "AUDUSD")


@dataclass(frozen=True)
class Nemesis:
    at_s: float
    kind: str  # "disconnect" | "cancel" | "reconcile" | "kill"
    duration_s: float = 0.0


@dataclass(frozen=True)
class Plan:
    seed: int
    behaviour: dict[str, Any]
    account: dict[str, Any]
    symbols: dict[str, dict[str, Any]]
    config: dict[str, Any]
    payloads: list[tuple[float, dict[str, Any]]]  # (start at, RPMOutput), a decision may come twice
    nemesis: list[Nemesis]

    def describe(self) -> str:
        b = self.behaviour
        return (
            f"seed {self.seed}: {len(self.payloads)} sends, "
            f"latency {b['latency_ms']:.0f}+{b['latency_jitter_ms']:.0f} ms, "
            f"rest {b['pending_fill_after_s']:g}+{b['pending_fill_jitter_s']:g} s, fill_ratio {b['fill_ratio']}, "
            f"{self.account['margin_mode']}, "
            f"symbols {[(s, v['execution_mode'], *v['filling_modes']) for s, v in self.symbols.items()]}, "
            f"requote_every {b['requote_every']}, drops {len(b['connection_drop_before'])}/"
            f"{len(b['connection_drop_after'])}, timeout {self.config['order_timeout_s']:.2f} s, "
            f"{self.config['partial_fill_policy']}, nemesis {[n.kind for n in self.nemesis]}"
        )


def make_plan(seed: int, executions: int, *, max_latency_ms: float, span_s: float, kills: int = 0) -> Plan:
    rnd = random.Random(seed)
    sends = executions * 3  # order_send calls a run may make, for the lost answers to land among
    resting = rnd.random() < 0.8
    behaviour: dict[str, Any] = {
        "latency_ms": rnd.uniform(0, max_latency_ms / 2),
        "latency_jitter_ms": rnd.uniform(0, max_latency_ms / 2),
        "pending_fill_after_s": rnd.choice([0.0, 0.01, 0.05]) if resting else 0.0,
        "pending_fill_jitter_s": rnd.uniform(0.05, 1.0) if resting else 0.0,
        "fill_ratio": rnd.choice([1.0, 1.0, 0.5, 0.75]),
        "requote_every": rnd.choice([0, 0, 3, 7]),
        "fill_slippage_points": rnd.choice([0, 1, 5]),
        "connection_drop_before": sorted(rnd.sample(range(1, sends), k=rnd.randint(0, max(1, sends // 8)))),
        "connection_drop_after": sorted(rnd.sample(range(1, sends), k=rnd.randint(0, max(1, sends // 8)))),
        "random_seed": seed,
        "random_walk": rnd.random() < 0.3,  # moving quotes: requotes on instant and request execution
    }
    symbols = {name: _symbol(rnd) for name in SYMBOLS}
    account = {"margin_mode": rnd.choice(["hedging", "netting"])}
    config: dict[str, Any] = {
        "order_timeout_s": round(rnd.uniform(0.1, 0.9), 3),  # the store keeps the setting to the millisecond
        "poll_interval_s": rnd.uniform(0.005, 0.05),
        "backoff_initial_s": rnd.uniform(0.001, 0.01),
        "max_retries": rnd.randint(1, 3),
        "max_requotes": rnd.randint(1, 3),
        "partial_fill_policy": rnd.choice(["accept", "complete"]),
        "reconcile_after_s": rnd.uniform(0.0, 0.5),
    }
    payloads: list[tuple[float, dict[str, Any]]] = []
    for n in range(executions):
        payload = rpm_payload(
            order_id=f"rpm_{seed}_{n}",
            symbol=rnd.choice(SYMBOLS),
            direction=rnd.choice([1, -1]),
            units=rnd.randint(1, 150) * 1000,  # whole volume steps: the engine never rounds a size
        )
        at = rnd.uniform(0, span_s)
        payloads.append((at, payload))
        if rnd.random() < 0.1:  # the same decision again, while the first may still be in flight
            payloads.append((at + rnd.uniform(0, 0.2), payload))
    moves = [
        Nemesis(
            rnd.uniform(0, span_s), rnd.choice(["disconnect", "cancel", "cancel", "reconcile"]), rnd.uniform(0.005, 0.1)
        )
        for _ in range(rnd.randint(executions // 6, executions // 3 + 1))
    ]
    moves += [Nemesis(rnd.uniform(0.1, span_s), "kill") for _ in range(kills)]
    payloads.sort(key=lambda p: p[0])
    moves.sort(key=lambda m: m.at_s)
    return Plan(seed, behaviour, account, symbols, config, payloads, moves)


# Filling modes each execution mode may be given (the MT5 help's fill policy table): instant and request
# execution need FOK; partial fills need a symbol without FOK, which is tried first where allowed.
_FILLINGS = {
    "market": (["fok", "ioc"], ["ioc"]),
    "instant": (["fok"], ["fok", "ioc"]),
    "request": (["fok"],),
    "exchange": (["fok", "ioc", "return"], ["ioc"], ["return"], ["ioc", "return"]),
}


def _symbol(rnd: random.Random) -> dict[str, Any]:
    mode = rnd.choice(list(_FILLINGS))
    return {"execution_mode": mode, "filling_modes": list(rnd.choice(_FILLINGS[mode]))}
