"""A lab server in its own process on a loopback port, for the tests that crash and restart one
(tests/deploy/test_replicas.py, tests/e2e/test_reconnect_browser.py): ``start()``, ``kill()``
(a crash), ``start()`` again (a restart, same port), ``stop()``."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STREAMLIT_RUN = ("-m", "streamlit", "run", "app.py", "--browser.gatherUsageStats", "false")
SERVE = ("tools/serve.py",)  # as `make run` starts it


def tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def wait_for(cond, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {value!r})")
        time.sleep(interval)


class LabServer:
    """``python <command> --server.port <port> ...`` from the repository root, its output
    appended to ``log_path``; ``env`` is added to this process's environment."""

    def __init__(self, name: str, port: int, log_path: Path, *, command: Sequence[str] = STREAMLIT_RUN, env: dict | None = None) -> None:
        self.name, self.port, self.log_path, self.command = name, port, log_path, tuple(command)
        self.url = f"http://127.0.0.1:{port}"
        self.env = {**os.environ, "MPLBACKEND": "Agg", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"---- start {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable, *self.command,
                    "--server.port", str(self.port), "--server.address", "127.0.0.1", "--server.headless", "true",
                    "--server.fileWatcherType", "none",
                ],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
            )

    def healthy(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc and self.proc.returncode}:\n{tail(self.log_path)}")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/_stcore/health")
            return conn.getresponse().read().strip() == b"ok"
        except OSError:
            return False
        finally:
            conn.close()

    def wait_healthy(self, timeout: float = 60) -> None:
        wait_for(self.healthy, timeout, f"{self.name} on :{self.port} to answer /_stcore/health", 0.2)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
