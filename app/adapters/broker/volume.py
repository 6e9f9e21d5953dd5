"""Units to lots and back, exactly: a size the symbol cannot express is refused, never rounded."""

from __future__ import annotations

from decimal import Decimal

from app.adapters.broker.types import SymbolSpec


class InvalidVolume(ValueError):
    pass


def units_to_lots(units: Decimal, spec: SymbolSpec) -> Decimal:
    lots = units / spec.contract_size
    if lots * spec.contract_size != units:
        raise InvalidVolume(f"{units} units is not an exact number of lots of {spec.contract_size}")
    if lots % spec.volume_step != 0:
        raise InvalidVolume(
            f"{units} units = {lots.normalize():f} lots is not a multiple of the volume step {spec.volume_step} "
            f"({spec.volume_step * spec.contract_size:f} units)"
        )
    if lots < spec.volume_min:
        raise InvalidVolume(f"{lots.normalize():f} lots is below the symbol's minimum of {spec.volume_min} lots")
    if lots > spec.volume_max:
        raise InvalidVolume(f"{lots.normalize():f} lots is above the symbol's maximum of {spec.volume_max} lots")
    return plain(lots)


def lots_to_units(lots: Decimal, spec: SymbolSpec) -> Decimal:
    return plain(lots * spec.contract_size)


def plain(value: Decimal) -> Decimal:
    """No trailing zeros and never an exponent: 100,000 units print as 100000, not 1E+5."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


def exact(value: float) -> Decimal:
    """A venue's float as the decimal it was printed from (0.95 stays 0.95, not 0.9499999…)."""
    return Decimal(repr(value))
