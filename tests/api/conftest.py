"""One served engine for the API tests that do not change its state for the others (session-scoped)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.served import Served


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    engine = Served.start(tmp_path_factory.mktemp("served"), "--order-timeout", "5")
    yield engine
    assert engine.stop() == 0, engine.output


@pytest.fixture(scope="session")
def api(served: Served) -> Iterator[httpx.Client]:
    with served.client() as client:
        yield client
