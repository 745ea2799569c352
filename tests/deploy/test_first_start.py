"""The README's first start, word for word: `.env.example` as it ships plus the values the README says to set,
resolved by compose into the migrate and app containers' environments, then run natively: the migrate step, then
the container's own start (Gunicorn). It must serve, and the first admin must be able to log in.

Only what cannot exist outside Docker is substituted: the database's address (the `db` host; the owner role
is this test server's), DATA_DIR (/data) and the listening port.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.db import TEST_APP_ROLE, create_database, drop_database
from tests.deploy.native import missing_tool, run_migrate, start_entrypoint, stop, wait_for
from tests.deploy.test_compose import (
    NO_COMPOSE,
    _compose_command,
    _project,
    _run_compose,
    shipped_env_plus_readme_values,
)
from tests.live_server import free_port


def _on_this_machine(url: str, database_url: str, *, keep_user: bool) -> str:
    """A compose URL (`...@db:5432/camvault`) pointed at the test database; the role name is kept for the app."""
    compose, local = make_url(url), make_url(database_url)
    user = compose.username if keep_user else local.username
    return local.set(username=user, password=None).render_as_string(hide_password=False)


async def test_env_example_as_shipped_plus_the_readme_values_starts(server_url: str, tmp_path: Path) -> None:
    cmd = _compose_command()
    if cmd is None:
        missing_tool(NO_COMPOSE)
    env_file = shipped_env_plus_readme_values()
    # The app role's password matters only on a server given by DATABASE_URL; keep the suite's there.
    env_file["DATABASE_PASSWORD"] = TEST_APP_ROLE.password or ""
    (tmp_path / "project").mkdir()
    project = _project(tmp_path / "project", [f"{k}={v}" for k, v in env_file.items()], cmd)
    resolved = _run_compose(cmd, project, "config")
    assert resolved.returncode == 0, resolved.stderr
    services = yaml.safe_load(resolved.stdout)["services"]
    migrate_env, app_env = services["migrate"]["environment"], services["app"]["environment"]

    database_url = await create_database(server_url, prefix="firststart")
    try:
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        data_dir = tmp_path / "data"
        migrate = {
            **base,
            **{k: str(v) for k, v in migrate_env.items()},
            "MIGRATION_DATABASE_URL": _on_this_machine(
                migrate_env["MIGRATION_DATABASE_URL"], database_url, keep_user=False
            ),
            "DATABASE_URL": _on_this_machine(migrate_env["DATABASE_URL"], database_url, keep_user=True),
        }
        if make_url(database_url).password is None:
            migrate.pop("MIGRATION_DATABASE_PASSWORD")  # the embedded server's owner has none
        done = run_migrate(migrate, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr

        app = {
            **base,
            **{k: str(v) for k, v in app_env.items()},
            "DATABASE_URL": _on_this_machine(app_env["DATABASE_URL"], database_url, keep_user=True),
            "DATA_DIR": str(data_dir),
        }
        port = free_port()
        server = start_entrypoint(app, tmp_path, f"127.0.0.1:{port}", workers=1)
        try:
            wait_for(f"http://127.0.0.1:{port}/readyz", server, tmp_path / "app.log", timeout=120)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                login = {"login": env_file["FIRST_ADMIN_USERNAME"], "password": env_file["FIRST_ADMIN_PASSWORD"]}
                r = await client.post("/api/auth/token", json=login)
                assert r.status_code == 200, r.text
                assert r.json()["user"]["role"] == "admin" and r.json()["user"]["email"] is None
        finally:
            stop(server)
        log = (tmp_path / "app.log").read_text()
        assert "first admin created username=admin" in log
        assert "database check" not in log  # migrated, and the app's role cannot drop the audit trigger
    finally:
        await drop_database(database_url)


@pytest.mark.parametrize("name", ["FIRST_ADMIN_EMAIL", "MAX_UPLOAD_BYTES", "CORS_ORIGINS", "PORT", "DATABASE_URL"])
def test_an_empty_value_in_env_example_means_the_default(name: str, tmp_path: Path) -> None:
    """What crash-looped the first start: `FIRST_ADMIN_EMAIL=` reached the app as "" and failed as an email."""
    from app.core.config import Settings

    env = tmp_path / ".env"
    env.write_text(f"{name}=\n")
    assert getattr(Settings(_env_file=env), name.lower()) == Settings.model_fields[name.lower()].get_default(
        call_default_factory=True
    )
