"""Debian's nginx serving one folder on a free loopback port: the floor for downloads."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.deploy.native import nginx_binary, start_nginx, stop
from tests.live_server import free_port

__all__ = ["nginx_binary", "nginx_version", "serve"]


def nginx_version(binary: str) -> str:
    # nginx prints its version on stderr: "nginx version: nginx/1.22.1"
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=False)
    return (out.stderr or out.stdout).strip().rsplit("/", 1)[-1]


def render_conf(workdir: Path, root: Path, port: int) -> Path:
    """One worker, sendfile on, no access log: nginx as a plain static file server, nothing more."""
    temp_paths = "\n".join(
        f"    {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"};
events {{ worker_connections 64; }}
http {{
{temp_paths}
    access_log off;
    sendfile on;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"""
    )
    return conf


@contextmanager
def serve(binary: str, root: Path, workdir: Path) -> Iterator[str]:
    """Start nginx serving `root`; yield its base URL; stop it at the end."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = render_conf(workdir, root, port)
    proc = start_nginx(binary, conf, workdir)  # as root, it keeps its workers root (our scratch folder)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {proc.returncode}: {(workdir / 'nginx.stderr').read_text()}")
            try:
                httpx.get(url + "/", timeout=1)  # any answer (403 for the folder listing) means it is up
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("nginx did not start within 20 s") from None
                time.sleep(0.05)
        yield url
    finally:
        stop(proc)
