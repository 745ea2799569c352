"""Run the production pieces natively: Nginx with the real nginx.conf, the app through the real docker/entrypoint.sh.

Only what cannot exist outside Docker is substituted: the `app` host name, the html root, the pid file,
temp folders and the listening port.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "nginx.conf"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def missing_tool(reason: str) -> NoReturn:
    """Skip on a developer machine without the tool; fail in CI, where .ci/run installs it and sets the flag."""
    if os.environ.get("CAMVAULT_REQUIRE_DEPLOY_TOOLS"):
        pytest.fail(f"{reason} (CAMVAULT_REQUIRE_DEPLOY_TOOLS is set)")
    pytest.skip(reason)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def render_nginx_conf(
    workdir: Path, *, upstream: str, html: Path, port: int | None = None, upload_limit: str | None = None
) -> Path:
    """nginx.conf with the `app` server replaced by `upstream`, written to workdir/nginx.conf; `upload_limit`
    replaces the upload routes' client_max_body_size (a test's smaller MAX_UPLOAD_BYTES plus the same headroom).

    The whole server line is replaced: an address needs no `resolve` (Debian's Nginx, older than 1.27.3,
    would not know it)."""
    temp_paths = "".join(
        f"\n    {kind}_temp_path {workdir / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = (
        NGINX_CONF.read_text()
        .replace("server app:8000 resolve;", f"server {upstream};")
        .replace("/usr/share/nginx/html", str(html))
        .replace("pid /var/run/nginx.pid;", f"pid {workdir / 'nginx.pid'};")
        .replace("access_log /dev/stdout camvault;", f"access_log {workdir / 'access.log'} camvault;")
        .replace("\nhttp {", "\nhttp {" + temp_paths, 1)
    )
    if upload_limit is not None:
        assert conf.count("client_max_body_size 2049m;") == 1
        conf = conf.replace("client_max_body_size 2049m;", f"client_max_body_size {upload_limit};")
    if port is not None:
        conf = conf.replace("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;")
        conf = conf.replace("listen [::]:80 default_server;", "")
    path = workdir / "nginx.conf"
    path.write_text(conf)
    return path


def start_nginx(nginx: str, conf: Path, workdir: Path) -> subprocess.Popen[bytes]:
    # As root Nginx would switch its workers to `nobody`; stay the same user so the temp folders work.
    user = " user root;" if os.geteuid() == 0 else ""
    return subprocess.Popen(
        [nginx, "-c", str(conf), "-p", str(workdir), "-e", str(workdir / "error.log"), "-g", f"daemon off;{user}"],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "nginx.stderr").open("wb"),
    )


def start_entrypoint(env: dict[str, str], workdir: Path, bind: str, workers: int = 2) -> subprocess.Popen[bytes]:
    """The container's own start: docker/entrypoint.sh with no arguments (`alembic upgrade head`, then
    `exec gunicorn ...`), so the process is Gunicorn's master once it serves. The venv's `alembic` and
    `gunicorn` come first on PATH, as /opt/venv/bin does in the image; workdir is a scratch folder."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    return subprocess.Popen(
        ["sh", str(ENTRYPOINT)],
        cwd=workdir,
        env={**env, "PATH": path, "BIND": bind, "WEB_CONCURRENCY": str(workers), "PYTHONPATH": str(ROOT)},
        stdout=(workdir / "app.log").open("wb"),
        stderr=(workdir / "app.stderr").open("wb"),
    )


def run_migrate(env: dict[str, str], workdir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The compose `migrate` service: docker/entrypoint.sh migrate (`camvault migrate` as the owner, granting the
    app's role), run to completion; its output in workdir/migrate.log."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    done = subprocess.run(
        ["sh", str(ENTRYPOINT), "migrate"],
        cwd=workdir,
        env={**env, "PATH": path, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    (workdir / "migrate.log").write_text(done.stdout + done.stderr)
    return done


def wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout} s:\n{log.read_text(errors='replace')}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
