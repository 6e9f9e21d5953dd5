"""The invariants of a run, checked against the broker's own books (Jepsen's checker, for money).

The broker's deals and orders are the truth; the store's records must account for every one of
them, once, with the right units, status and price. Each violation is one line naming the execution,
the deal or the order.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from app.domain.contracts import ExecutionStatus
from app.domain.execution import Execution
from app.store.repository import StoredFill

S = ExecutionStatus
NO_FILL_STATUSES = {S.REJECTED, S.EXPIRED, S.CANCELLED}
PRICE_SCALE = Decimal("0.00000001")  # the store's price scale


@dataclass(frozen=True)
class BrokerDeal:
    ticket: str
    order: str
    symbol: str
    lots: Decimal
    price: Decimal
    magic: int
    comment: str


@dataclass(frozen=True)
class BrokerOrder:
    ticket: str
    magic: int
    comment: str


@dataclass(frozen=True)
class BrokerBooks:
    """What the broker holds: every order (open and history) and every deal."""

    orders: Sequence[BrokerOrder]
    deals: Sequence[BrokerDeal]

    @classmethod
    def from_records(cls, orders: Iterable[object], deals: Iterable[object]) -> BrokerBooks:
        """From MT5 TradeOrder / TradeDeal records (the module's answers or the simulator's file)."""
        return cls(
            orders=[BrokerOrder(str(o.ticket), o.magic, o.comment) for o in orders],  # type: ignore[attr-defined]
            deals=[
                BrokerDeal(
                    str(d.ticket),  # type: ignore[attr-defined]
                    str(d.order),  # type: ignore[attr-defined]
                    d.symbol,  # type: ignore[attr-defined]
                    Decimal(str(d.volume)),  # type: ignore[attr-defined]
                    Decimal(str(d.price)),  # type: ignore[attr-defined]
                    d.magic,  # type: ignore[attr-defined]
                    d.comment,  # type: ignore[attr-defined]
                )
                for d in deals
            ],
        )


def execution_of(tag: str) -> str:
    """The execution an order's comment names: its id, or its id + "/n" for a completion order."""
    return tag.split("/")[0]


def check(
    books: BrokerBooks,
    executions: Sequence[Execution],
    fills: Mapping[str, Sequence[StoredFill]],
    contract_size: Mapping[str, Decimal],
    magic: int,
) -> list[str]:
    """Every invariant over the final state; an empty list when all hold."""
    by_id = {e.execution_id: e for e in executions}
    violations = [
        f"decision {d} has {n} executions" for d, n in Counter(e.rpm_decision_id for e in executions).items() if n > 1
    ]
    ours = [o for o in books.orders if o.magic == magic]
    violations += [
        f"tag {tag} has {n} orders at the broker" for tag, n in Counter(o.comment for o in ours).items() if n > 1
    ]
    violations += [
        f"order {o.ticket} (tag {o.comment!r}) belongs to no execution"
        for o in ours
        if execution_of(o.comment) not in by_id
    ]

    owner: dict[str, str] = {}
    for execution_id, stored in fills.items():
        for f in stored:
            if f.deal_id in owner:
                violations.append(f"deal {f.deal_id} is recorded by {owner[f.deal_id]} and by {execution_id}")
            owner[f.deal_id] = execution_id
    deals_of: dict[str, list[BrokerDeal]] = defaultdict(list)
    at_broker = set()
    for d in books.deals:
        if d.magic != magic:
            continue
        at_broker.add(d.ticket)
        execution_id = execution_of(d.comment)
        if execution_id not in by_id:
            violations.append(f"deal {d.ticket} (tag {d.comment!r}) belongs to no execution")
            continue
        deals_of[execution_id].append(d)
        if owner.get(d.ticket) != execution_id:
            violations.append(
                f"deal {d.ticket} of {execution_id} is not in its record (recorded by {owner.get(d.ticket)})"
            )
    violations += [
        f"deal {deal} recorded by {e} does not exist at the broker"
        for deal, e in owner.items()
        if deal not in at_broker
    ]

    for e in executions:
        violations += _check_execution(e, deals_of.get(e.execution_id, []), contract_size)
    return violations


def _check_execution(e: Execution, deals: Sequence[BrokerDeal], contract_size: Mapping[str, Decimal]) -> list[str]:
    out = []
    name = f"{e.execution_id} ({e.rpm_decision_id}, {e.status.value})"
    if e.status in (S.PENDING, S.SUBMITTED):
        out.append(f"{name}: left unfinished")
    lots = sum((d.lots for d in deals), Decimal(0))
    units = lots * contract_size[e.symbol] if deals else Decimal(0)
    if e.executed_units != units:
        out.append(f"{name}: executed_units {e.executed_units} but its deals at the broker make {units}")
    if units == 0 and e.status not in NO_FILL_STATUSES | {S.PENDING, S.SUBMITTED}:
        out.append(f"{name}: no deal at the broker")
    if units > 0:
        expected = S.FILLED if units == e.intended_units else S.PARTIALLY_FILLED
        if units > e.intended_units:
            out.append(f"{name}: over-filled, {units} of {e.intended_units} units")
        elif e.status is not expected:
            out.append(f"{name}: deals make {units} of {e.intended_units} units, so it is {expected.value}")
        vwap = (sum((d.lots * d.price for d in deals), Decimal(0)) / lots).quantize(PRICE_SCALE, ROUND_HALF_EVEN)
        if e.fill_price != vwap:
            out.append(f"{name}: fill_price {e.fill_price}, the deals' volume-weighted price is {vwap}")
    return out
