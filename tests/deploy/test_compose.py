"""The deployment files: docker-compose.yml validates and has the intended shape; nginx.conf parses.

No Docker engine is needed: `docker compose config` only reads and resolves the file. The tools
come from Debian: `docker-compose` (Compose v1, used when the `docker compose` plugin is absent)
and `nginx-light` (or `nginx`).
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from app.core.config import Settings
from tests.deploy.native import missing_tool, nginx_binary, render_nginx_conf

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "nginx.conf"
ENV_EXAMPLE = ROOT / ".env.example"

NO_COMPOSE = "neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install docker-compose)"

# Host variables that would change what compose resolves; the tests use the .env they write.
_COMPOSE_VARS = ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "HTTP_PORT", "WEB_CONCURRENCY")


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=60)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _compose_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _COMPOSE_VARS and not k.startswith("COMPOSE_")}
    env["COMPOSE_PROJECT_NAME"] = "camvaulttest"
    return env


def _project(tmp_path: Path, env_lines: list[str]) -> Path:
    """A copy of the compose project (the file and a .env) in tmp_path: the work tree stays untouched."""
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("\n".join(env_lines) + "\n")
    return tmp_path


def _env_example_lines() -> list[str]:
    assert ENV_EXAMPLE.is_file(), ".env.example is missing"
    return ENV_EXAMPLE.read_text().splitlines()


def _run_compose(cmd: list[str], project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*cmd, "-f", str(project / "docker-compose.yml"), *args],
        cwd=project,
        env=_compose_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _published_services(compose: dict) -> set[str]:
    return {name for name, service in compose["services"].items() if service.get("ports")}


def _assert_shape(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"db", "app", "nginx"}
    assert _published_services(compose) == {"nginx"}, "only nginx may publish a port"
    depends = services["app"]["depends_on"]
    assert isinstance(depends, dict), "app must wait for db with a condition, not the list form"
    assert depends["db"]["condition"] == "service_healthy"
    assert "healthcheck" in services["db"] and "pg_isready" in str(services["db"]["healthcheck"]["test"])
    for name, service in services.items():
        assert service.get("restart") == "unless-stopped", name
    assert services["db"]["image"].startswith("postgres:17")
    assert services["nginx"]["image"].startswith("nginx:")
    assert {"pgdata", "vault"} <= set(compose["volumes"])


def test_compose_file_shape() -> None:
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    _assert_shape(compose)
    app = compose["services"]["app"]
    assert app["build"] == {"context": ".", "dockerfile": "docker/Dockerfile"}
    assert app["env_file"] == ".env"
    assert any(str(v).endswith(":/data") for v in app["volumes"])
    assert app["environment"]["DATA_DIR"] == "/data"
    assert "@db:5432/" in app["environment"]["DATABASE_URL"]
    nginx_mounts = compose["services"]["nginx"]["volumes"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx_mounts
    assert "./app/static:/usr/share/nginx/html:ro" in nginx_mounts


def test_compose_config_validates(tmp_path: Path) -> None:
    cmd = _compose_command()
    if cmd is None:
        missing_tool(
            "neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install docker-compose)"
        )
    # .env.example as shipped must be enough for the file to resolve (it sets POSTGRES_PASSWORD).
    project = _project(tmp_path, _env_example_lines())
    result = _run_compose(cmd, project, "config", "-q")
    assert result.returncode == 0, result.stderr

    resolved = _run_compose(cmd, project, "config")
    assert resolved.returncode == 0, resolved.stderr
    compose = yaml.safe_load(resolved.stdout)
    _assert_shape(compose)
    app_env = compose["services"]["app"]["environment"]
    assert app_env["DATA_DIR"] == "/data"
    assert app_env["ENV"] == "production"
    assert re.fullmatch(r"postgresql\+asyncpg://[^:@/]+:[^@/]+@db:5432/[^/]+", app_env["DATABASE_URL"]), app_env


def test_compose_config_requires_postgres_password(tmp_path: Path) -> None:
    cmd = _compose_command()
    if cmd is None:
        missing_tool(
            "neither `docker compose` nor `docker-compose` is installed (Debian: apt-get install docker-compose)"
        )
    lines = [line for line in _env_example_lines() if not line.startswith("POSTGRES_PASSWORD=")]
    result = _run_compose(cmd, _project(tmp_path, lines), "config", "-q")
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


# --- nginx ----------------------------------------------------------------------------------


def _size_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * 1024 ** {"": 0, "k": 1, "m": 2, "g": 3}[unit.lower()]


def test_nginx_conf_contract() -> None:
    conf = NGINX_CONF.read_text()
    # Deployment tooling and the test below rewrite these; they must stay single and literal.
    assert conf.count("server app:8000 resolve;") == 1
    # `resolve` (follow the app's address) needs a resolver, a zone, and Nginx 1.27.3 or later.
    assert "resolver 127.0.0.11 " in conf and re.search(r"upstream camvault {\s*zone \w+ \d+k;", conf)
    image = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["nginx"]["image"]
    version = tuple(int(n) for n in image.split(":")[1].split("."))
    assert version >= (1, 27) and (len(version) < 3 or version >= (1, 27, 3)), image
    assert conf.count("/usr/share/nginx/html") == 1
    assert conf.count("pid /var/run/nginx.pid;") == 1
    # Nothing that carries a query string (a WebSocket ?token=) may be logged.
    formats = re.findall(r"log_format\s+\w+\s+((?:'[^']*'\s*)+);", conf)
    assert formats, "no log_format found"
    for fmt in formats:
        assert "$uri" in fmt
        for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$http_referer"):
            assert leaky not in fmt, leaky
    # client_max_body_size must match the app's default MAX_UPLOAD_BYTES, the value .env.example
    # ships, and the limit named in Nginx's own JSON 413 answer.
    limit = Settings.model_fields["max_upload_bytes"].default
    sizes = re.findall(r"client_max_body_size\s+(\w+);", conf)
    assert sizes and all(_size_bytes(s) == limit for s in sizes)
    assert f"MAX_UPLOAD_BYTES={limit}\n" in ENV_EXAMPLE.read_text()
    assert re.search(r"error_page\s+413\s+@too_large;", conf)
    assert f'return 413 \'{{"detail": "Upload exceeds the limit of {limit} bytes"}}\';' in conf
    # Every path the app serves is proxied to it (the rest is app/static, served from disk).
    for location in ("/api/", "/docs", "= /openapi.json", "= /healthz", "= /readyz", "= /ws"):
        block = re.search(rf"location {re.escape(location)} {{([^}}]*)}}", conf)
        assert block and "proxy_pass http://camvault;" in block.group(1), location
    ws = re.search(r"location = /ws {([^}]*)}", conf).group(1)  # type: ignore[union-attr]
    assert re.search(r"proxy_read_timeout\s+1h;", ws)
    for line in ("proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;"):
        assert line in conf
    assert "proxy_request_buffering off;" in conf
    assert re.search(r"gzip_types[^;]*text/css[^;]*application/javascript[^;]*application/json", conf)
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
        assert re.search(rf"add_header\s+{header}\s+.+\s+always;", conf), header


def test_nginx_config_parses(tmp_path: Path) -> None:
    nginx = nginx_binary()
    if nginx is None:
        missing_tool("nginx is not installed (Debian: apt-get install nginx-light)")
    html = tmp_path / "html"
    html.mkdir()
    path = render_nginx_conf(tmp_path, upstream="127.0.0.1:8000", html=html)
    result = subprocess.run(
        [nginx, "-t", "-c", str(path), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_env_example_sets_every_variable_compose_reads() -> None:
    compose_vars = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert compose_vars >= {"POSTGRES_PASSWORD", "HTTP_PORT", "WEB_CONCURRENCY"}
    example = {line.split("=", 1)[0] for line in _env_example_lines() if re.match(r"\w+=", line)}
    assert compose_vars - example == set()


# --- the image -------------------------------------------------------------------------------

DOCKERFILE = ROOT / "docker" / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, continuation lines joined, comments dropped."""
    text = re.sub(
        r"\\\n\s*", " ", "\n".join(x for x in DOCKERFILE.read_text().splitlines() if not x.lstrip().startswith("#"))
    )
    return [(m.group(1).upper(), m.group(2)) for m in re.finditer(r"^(\w+)\s+(.*)$", text, re.M)]


def test_dockerfile_contract() -> None:
    steps = _instructions()
    stages = [args.split()[-1] for op, args in steps if op == "FROM"]
    assert len(stages) >= 2 and stages[-1] == "runtime", "multi-stage, ending in the runtime image"
    index = {i: (op, args) for i, (op, args) in enumerate(steps)}
    # The dependency install comes before any application code is copied into the builder.
    install = next(i for i, (op, args) in index.items() if op == "RUN" and "pip install -r" in args)
    first_code = next(i for i, (op, args) in index.items() if op == "COPY" and args.split()[0] == "app")
    assert install < first_code
    assert all("app" not in args.split()[:-1] for op, args in steps[:install] if op == "COPY")
    runtime = steps[next(i for i, (op, args) in index.items() if op == "FROM" and args.endswith("runtime")) :]
    assert any(op == "RUN" and re.search(r"apt-get install .*\bgit\b", args) for op, args in runtime)
    users = [args for op, args in runtime if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = next(args for op, args in runtime if op == "HEALTHCHECK")
    assert "/healthz" in health
    assert ("ENTRYPOINT", '["/app/docker/entrypoint.sh"]') in runtime
    copied = " ".join(args for op, args in runtime if op == "COPY")
    for needed in ("alembic.ini", "alembic", "app", "docker/entrypoint.sh", "docker/gunicorn.conf.py"):
        assert needed in copied.split(), needed
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".data", ".git", "backups"} <= set(ignored)  # never in the build context


def test_dockerfile_dependency_list_is_pyprojects(tmp_path: Path) -> None:
    """The builder installs what the `requirements` stage's one-liner prints: run that very command."""
    run = next(args for op, args in _instructions() if op == "RUN" and "tomllib" in args)
    command = run.split(">")[0].strip()
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    printed = subprocess.run(
        command.replace("python ", f"{sys.executable} ", 1),
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    with (ROOT / "pyproject.toml").open("rb") as f:
        assert printed.stdout.splitlines() == tomllib.load(f)["project"]["dependencies"]


def test_entrypoint_migrates_then_execs_gunicorn_with_the_config() -> None:
    script = (ROOT / "docker" / "entrypoint.sh").read_text()
    default = script[script.index('"" | -*)') : script.index(";;")]
    lines = [line.strip() for line in default.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert lines[1:] == [
        "exec 2>&1",
        'alembic -c "$APP_DIR/alembic.ini" upgrade head',
        'exec gunicorn \'app.main:create_app()\' -c "$APP_DIR/docker/gunicorn.conf.py" "$@"',
    ]
    assert "set -e" in script


def test_gunicorn_conf_takes_workers_and_timeouts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_GRACEFUL_TIMEOUT", "25")
    conf = runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))
    assert conf["workers"] == 3 and conf["graceful_timeout"] == 25
    assert conf["worker_class"].endswith("UvicornWorker")
    assert conf["accesslog"] is None  # the app logs requests itself, without query strings
    assert conf["logconfig_dict"]["handlers"]["stdout"]["stream"] == "ext://sys.stdout"
    # Docker must wait longer than Gunicorn's graceful timeout before it kills the app.
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    grace = compose["services"]["app"]["stop_grace_period"]
    assert int(grace.rstrip("s")) > int(runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))["graceful_timeout"])
