"""Settings: command-line flags win over EXEC_* environment variables, which win over defaults."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain.bounds import PIPS_LIMIT_DIGITS, TIMEOUT_DIGITS
from app.engine.config import EngineConfig, PartialFillPolicy

APP_NAME = "fx-execution-console"


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EXEC_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    db_url: str | None = None  # default: sqlite:///<data_dir>/executions.db
    broker: Literal["sim", "mt5"] | None = None  # None: mt5 where a terminal answers, else sim
    sim_scenario: Path | None = None
    api_token: SecretStr | None = None
    audit_key: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = 8787
    inbox: Path | None = None
    order_timeout_s: float = Field(default=60.0, ge=0.001, le=86_400)
    max_spread_pips: Decimal = Field(default=Decimal(3), gt=0)
    max_slippage_pips: Decimal | None = Field(
        default=None, gt=0, max_digits=PIPS_LIMIT_DIGITS[0], decimal_places=PIPS_LIMIT_DIGITS[1]
    )
    margin_cushion: Decimal = Field(default=Decimal("0.20"), ge=0)
    partial_fill_policy: PartialFillPolicy = PartialFillPolicy.ACCEPT
    max_in_flight: int = Field(default=64, gt=0)
    position_check_s: float = Field(default=30.0, gt=0)  # seconds between position reconciliation passes
    # The MT5 terminal (the password comes from the OS keyring or EXEC_MT5_PASSWORD, never a file).
    mt5_path: str | None = None
    mt5_login: int | None = None
    mt5_server: str | None = None
    mt5_password: SecretStr | None = None
    mt5_timeout_ms: int = 60_000
    alert_webhook: SecretStr | None = None  # alerts POSTed here as JSON (app/host/alert_webhook.py)
    # Every call to the MetaTrader5 module and its answer, as JSON lines (app/adapters/trace/recorder.py).
    broker_trace: Path | None = None

    @field_validator("host")
    @classmethod
    def _unbracketed(cls, value: str) -> str:
        # `[::1]` as in a URL names the address `::1`, which is what the system's calls take.
        value = value.strip()
        return value[1:-1] if value.startswith("[") and value.endswith("]") else value

    @field_validator("order_timeout_s")
    @classmethod
    def _to_the_millisecond(cls, value: float) -> float:
        # Recorded with each request to the millisecond: a finer one would be stored rounded.
        exponent = Decimal(str(value)).as_tuple().exponent
        if isinstance(exponent, int) and exponent < -TIMEOUT_DIGITS[1]:
            raise ValueError(f"at most {TIMEOUT_DIGITS[1]} decimals (milliseconds)")
        return value

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{self.data_dir / 'executions.db'}"

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            order_timeout_s=self.order_timeout_s,
            max_spread_pips=self.max_spread_pips,
            max_slippage_pips=self.max_slippage_pips,
            margin_cushion=self.margin_cushion,
            partial_fill_policy=self.partial_fill_policy,
            max_in_flight=self.max_in_flight,
            position_check_interval_s=self.position_check_s,
        )
