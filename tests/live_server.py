"""Real camvault server processes for tests that need more than one worker (races, events, presence).

Each `LiveServer` is one Uvicorn process on its own port, all sharing one database and one DATA_DIR:
exactly what Gunicorn's workers share in production, but each reachable on purpose, so a test can
act through worker B and watch worker A, or `kill -9` one of them.

The processes are forked from a fork server that imported the app once (multiprocessing's `forkserver`, with
`app.main`, the command line and Uvicorn preloaded): a fresh interpreter importing them cost about 2.5 s of CPU
per server, and the suite starts a few hundred. Each child then takes the test's environment, working folder and
log, and runs Uvicorn's own command line, as a Gunicorn worker forked from its master does. tests/cli.py forks
its `camvault` commands from the same server.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
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


FORK_SERVER = multiprocessing.get_context("forkserver")
FORK_SERVER.set_forkserver_preload(["app.main", "app.cli", "uvicorn.main", "tests.fork_warmup"])


def enter_forked(env: dict[str, str], workdir: str, *, stdout: str, stderr: str, stdin: str | None = None) -> None:
    """A process forked from FORK_SERVER takes its own environment, folder and standard streams (files, appended
    to): nothing of the test process's or the fork server's."""
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(env)
    streams = [(1, stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND), (2, stderr, os.O_WRONLY | os.O_CREAT | os.O_APPEND)]
    if stdin is not None:
        streams.append((0, stdin, os.O_RDONLY))
    for fd, path, flags in streams:
        opened = os.open(path, flags, 0o644)
        os.dup2(opened, fd)
        os.close(opened)
    if stdin is not None:
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115  # line-buffered, as PYTHONUNBUFFERED
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


def _serve(env: dict[str, str], workdir: str, log_path: str, argv: list[str]) -> None:
    """The server process, after the fork: its output goes to its log."""
    enter_forked(env, workdir, stdout=log_path, stderr=log_path)
    from uvicorn.main import main

    main.main(args=argv, prog_name="uvicorn")


class ServerProcess:
    """The part of `subprocess.Popen` the tests use, for a process the fork server started."""

    def __init__(self, process: BaseProcess) -> None:
        self.process = process

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def poll(self) -> int | None:
        return None if self.process.is_alive() else self.process.exitcode

    def send_signal(self, sig: int) -> None:
        if self.process.is_alive():
            os.kill(self.pid, sig)

    def wait(self, timeout: float) -> int:
        self.process.join(timeout)
        if self.process.exitcode is None:
            raise subprocess.TimeoutExpired("uvicorn", timeout)
        return self.process.exitcode


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
        self.proc: ServerProcess | None = None

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
        argv = [
            "--factory",
            "app.main:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            *self.uvicorn_args,
        ]
        # cwd is a scratch folder, so a developer's .env in the checkout is not read.
        env = {**self.env, "PYTHONPATH": str(ROOT)}
        process = FORK_SERVER.Process(
            target=_serve, args=(env, str(self.workdir), str(self.log_path), argv), name=self.name
        )
        process.start()
        self.proc = ServerProcess(process)

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
