"""`execution-engine serve` as a real subprocess: the simulator, an SQLite file and a free port per process."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.adapters.sim.state import load_state

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "resources" / "scenarios"
AUDIT_KEY = "served-test-audit-key-0123456789"


def serve_command(data_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "app.interfaces.cli",
        "serve",
        "--port",
        "0",
        "--broker",
        "sim",
        "--db",
        f"sqlite:///{data_dir / 'x.db'}",
        "--data-dir",
        str(data_dir),
        *extra,
    ]


def serve_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The test's environment without any EXEC_* setting that would change what is under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXEC_")}
    return {**env, "EXEC_AUDIT_KEY": AUDIT_KEY, **(extra or {})}


@dataclass
class Served:
    proc: subprocess.Popen[str]
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    _incoming: queue.Queue[str | None] = field(default_factory=queue.Queue)
    url: str = ""

    @classmethod
    def start(
        cls, data_dir: Path, *extra: str, env: dict[str, str] | None = None, timeout: float = 30.0, **popen: Any
    ) -> Served:
        """`popen`: more of subprocess.Popen's options (a umask, limits set before the program runs)."""
        proc = subprocess.Popen(
            serve_command(data_dir, *extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=serve_env(env),
            **popen,
        )
        served = cls(proc, data_dir)
        threading.Thread(target=served._read, daemon=True).start()
        line = served.wait_for_line(lambda s: s.startswith("listening on "), timeout)
        served.url = line.removeprefix("listening on ").strip()
        return served

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._incoming.put(line.rstrip("\n"))
        self._incoming.put(None)

    def wait_for_line(self, wanted: Callable[[str], bool], timeout: float = 30.0) -> str:
        """The first line printed (from now on, or already) that `wanted` accepts."""
        for line in self.lines:
            if wanted(line):
                return line
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._incoming.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"serve exited ({self.proc.wait()}) without that line:\n{self.output}")
            self.lines.append(line)
            if wanted(line):
                return line
        raise AssertionError(f"no such line within {timeout} s:\n{self.output}")

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def token(self) -> str:
        return (self.data_dir / "api-token").read_text().strip()

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kwargs)

    def async_client(self, **kwargs: Any) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30.0, **kwargs)

    def sim_orders(self) -> list[dict[str, Any]]:
        """The orders the simulated broker holds (its own state: the file and its journal)."""
        return [o._asdict() for o in load_state(self.data_dir / "sim-state.json").orders.values()]

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the process and wait for it to end; its exit code. Everything it printed is in lines."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        while True:
            try:
                line = self._incoming.get(timeout=timeout)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return code
