"""Real camvault server processes for tests that need more than one worker (races, events, presence).

Each `LiveServer` is one Uvicorn process on its own port, all sharing one database and one DATA_DIR:
exactly what Gunicorn's workers share in production, but each reachable on purpose, so a test can
act through worker B and watch worker A, or `kill -9` one of them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Tests mint their own tokens (expired, forged) against the servers' key.
SECRET_KEY = "live-server-secret-" + "x" * 32


def server_env(database_url: str, data_dir: Path, **settings: object) -> dict[str, str]:
    """The environment of a server process: only what the test chose, never the developer's .env values."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAMVAULT_", "FIRST_ADMIN_"))}
    env.update(
        {
            "ENV": "test",
            "DATABASE_URL": database_url,
            "DATA_DIR": str(data_dir),
            "SECRET_KEY": SECRET_KEY,
            "LOG_LEVEL": "INFO",
            "PASSWORD_HASH_COST": "low",
            "SERVE_STATIC": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


class LiveServer:
    def __init__(
        self, env: dict[str, str], workdir: Path, name: str = "server", uvicorn_args: tuple[str, ...] = ()
    ) -> None:
        self.env = env
        self.workdir = workdir
        self.name = name
        self.uvicorn_args = uvicorn_args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60) -> LiveServer:
        self.spawn()
        self.wait_ready(timeout)
        return self

    def spawn(self) -> None:
        """Start the process without waiting for it (see wait_ready)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # cwd is a scratch folder, so a developer's .env in the checkout is not read.
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "app.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                *self.uvicorn_args,
            ],
            cwd=self.workdir,
            env={**self.env, "PYTHONPATH": str(ROOT)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def pause(self) -> None:
        """SIGSTOP: the process and its sockets stay, but it does nothing, like a host that hangs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to clean up, as when the OOM killer takes it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)  # a paused server could not act on SIGTERM
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def live_servers(
    env: dict[str, str], workdir: Path, count: int = 2, uvicorn_args: tuple[str, ...] = ()
) -> Iterator[list[LiveServer]]:
    """`count` worker processes on one database and one DATA_DIR, started together and stopped at the end."""
    servers = [LiveServer(env, workdir, name=f"worker{i}", uvicorn_args=uvicorn_args) for i in range(count)]
    try:
        for server in servers:
            server.spawn()
        for server in servers:
            server.wait_ready(60)
        yield servers
    finally:
        for server in servers:
            server.stop()
