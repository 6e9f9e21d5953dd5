"""The exact-number columns' bounds, as (max digits, decimal places): one place for the store's schema
(app.store.tables) and for what validates the numbers before they get there (the RPM contract, the
settings). A value the store cannot keep exactly is refused where it enters, naming its field; the
store never rounds one (app.store.tables refuses a value past its column's bounds rather than round it).

Wide enough for what the engine computes itself: units of a partial fill on a 0.001-lot, contract-size-1
symbol; the mid of two 8-digit prices; a spread in pips off an absurd quote.
"""

from __future__ import annotations

UNITS_DIGITS = (28, 8)  # lots (8 decimals) times a contract size
LOTS_DIGITS = (18, 8)
PRICE_DIGITS = (24, 10)  # the mid of two 8-digit prices has 9 decimals
PIPS_DIGITS = (20, 1)  # slippage and spread, quantized to a tenth of a pip
MONEY_DIGITS = (14, 2)
TIMEOUT_DIGITS = (10, 3)  # seconds, to the millisecond
PIPS_LIMIT_DIGITS = (8, 2)  # a configured slippage limit
# A model's confidence score, as its JSON writes it (a double's 17 digits, down to about 1e-13): the
# contract's bound only. Its column stays an unbounded NUMERIC, which keeps all of these; narrowing a
# column would need a migration.
CONFIDENCE_DIGITS = (40, 30)
