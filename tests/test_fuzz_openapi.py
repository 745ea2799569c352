"""No input the OpenAPI document admits makes the server answer 5xx.

Schemathesis generates requests from /openapi.json (coverage, fuzzing and stateful phases) against a
real server process and fails on any 5xx. The seed is fixed so CI is repeatable; `make fuzz` runs a
longer, randomly seeded pass.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.core.config import Settings
from tests.live_server import LiveServer, server_env

pytestmark = pytest.mark.heavy

ADMIN_PASSWORD = "fuzzing admin password"
# `make fuzz` sets CAMVAULT_FUZZ_EXAMPLES for a longer run with a random seed (printed by schemathesis).
LONG_RUN = "CAMVAULT_FUZZ_EXAMPLES" in os.environ
FUZZ_EXAMPLES = int(os.environ.get("CAMVAULT_FUZZ_EXAMPLES", "25"))
# The token must stay valid for the whole run: logging out or changing passwords is tested elsewhere.
EXCLUDED = "logout|password|deactivate"


def schemathesis_args(base_url: str, token: str, *, max_examples: int, seed: int | None) -> list[str]:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    args = [
        st,
        "run",
        f"{base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(max_examples),
        "--exclude-path-regex",
        EXCLUDED,
        "--no-color",
    ]
    return [*args, "--seed", str(seed)] if seed is not None else args


def test_no_generated_request_gets_a_server_error(database_url: str, settings: Settings, tmp_path: Path) -> None:
    env = server_env(
        database_url,
        settings.data_dir,
        secret_key=settings.secret_key,
        first_admin_username="fuzzadmin",
        first_admin_password=ADMIN_PASSWORD,
        # The fuzzer sends many bad logins; throttling them is tested elsewhere.
        login_max_failures_per_user=1_000_000,
        login_max_failures_per_ip=1_000_000,
    )
    server = LiveServer(env, tmp_path / "server").start()
    try:
        token = httpx.post(
            f"{server.url}/api/auth/token", json={"login": "fuzzadmin", "password": ADMIN_PASSWORD}
        ).json()["access_token"]
        # Something for the generated requests to find.
        headers = {"Authorization": f"Bearer {token}"}
        httpx.post(f"{server.url}/api/files", files={"files": ("op10.nc", b"G0 X0\n")}, headers=headers)
        done = subprocess.run(
            schemathesis_args(server.url, token, max_examples=FUZZ_EXAMPLES, seed=None if LONG_RUN else 20261125),
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )
    finally:
        server.stop()
    if LONG_RUN:
        print(done.stdout)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert re.search(r"status=5\d\d", server.log()) is None
