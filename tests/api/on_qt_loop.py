"""EngineService on qasync's loop, as the console runs it: `python -m tests.api.on_qt_loop DATA_DIR`.

Prints `api:<status> inbox:<status> left:<n>`; run in a process of its own by test_service.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import qasync
from PySide6.QtWidgets import QApplication

from app.host.service import EngineService
from app.host.settings import Settings
from tests.api.polling import eventually_async
from tests.builders import rpm_payload


async def serve_once(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, broker="sim", port=0, inbox=data_dir / "inbox")
    service = EngineService(settings)
    await service.start()
    try:
        assert service.endpoint is not None and service.token is not None
        headers = {"Authorization": f"Bearer {service.token.secret}"}
        async with httpx.AsyncClient(base_url=service.endpoint.url, headers=headers) as api:
            print("api:" + (await api.post("/execute", json=rpm_payload(units=1000))).json()["status"])
        (data_dir / "inbox" / "q.json").write_text(json.dumps(rpm_payload(units=1000)))
        answer = data_dir / "inbox" / "outbox" / "q.confirmation.json"
        print("inbox:" + json.loads(await eventually_async(lambda: answer.exists() and answer.read_text()))["status"])
    finally:
        print(f"left:{await service.stop(drain_s=5.0)}")


if __name__ == "__main__":
    app = QApplication(sys.argv[:1])
    qasync.run(serve_once(Path(sys.argv[1])))
