"""The deployment files: docker-compose.yml validates and has the intended shape; nginx.conf parses; the image
installs the lock file.

No Docker engine is needed: `docker compose config` only reads and resolves the file. The tools come from
Debian: `docker-compose` (Compose v1, used when the `docker compose` plugin is absent) and `nginx-light` (or
`nginx`). Compose v1 predates two keys the file uses (the top-level `name:` and a healthcheck's
`start_interval`, both Compose v2): the copy v1 validates leaves those two out (and names the project with
`-p`), and the tests below check them in the file itself.
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.core.config import SECRET_FILE_SETTINGS, Settings
from tests.deploy.native import missing_tool, nginx_binary, render_nginx_conf

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SECRETS_OVERLAY = ROOT / "docker" / "compose.secrets.yml"
NGINX_CONF = ROOT / "nginx.conf"
ENV_EXAMPLE = ROOT / ".env.example"
README = ROOT / "README.md"

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
    settings = {name.upper() for name in Settings.model_fields}
    return {
        k: v
        for k, v in os.environ.items()
        if k not in _COMPOSE_VARS and k not in settings and not k.startswith("COMPOSE_")
    }


def _for_compose(cmd: list[str], text: str) -> str:
    """A compose file as `cmd` can read it: Compose v1 knows neither `name:` nor `start_interval`."""
    if cmd[-1] == "compose":
        return text
    text = re.sub(r"^name: .*\n", "", text, flags=re.M)
    return re.sub(r"^ +start_interval: .*\n", "", text, flags=re.M)


def _project(tmp_path: Path, env_lines: list[str], cmd: list[str]) -> Path:
    """A copy of the compose project (the files and a .env) in tmp_path: the work tree stays untouched."""
    (tmp_path / "docker-compose.yml").write_text(_for_compose(cmd, COMPOSE_FILE.read_text()))
    (tmp_path / "docker").mkdir(exist_ok=True)
    (tmp_path / "docker" / "compose.secrets.yml").write_text(_for_compose(cmd, SECRETS_OVERLAY.read_text()))
    (tmp_path / ".env").write_text("\n".join(env_lines) + "\n")
    return tmp_path


def _env_example_lines() -> list[str]:
    assert ENV_EXAMPLE.is_file(), ".env.example is missing"
    return ENV_EXAMPLE.read_text().splitlines()


def readme_first_start_values() -> list[str]:
    """The settings the README's first start says to set in .env (`cp .env.example .env  # then set ...`)."""
    line = next(x for x in README.read_text().splitlines() if x.startswith("cp .env.example .env"))
    names = re.findall(r"\b[A-Z][A-Z0-9_]+\b", line.split("#", 1)[1])
    assert names, line
    return names


def shipped_env_plus_readme_values() -> dict[str, str]:
    """.env.example as it ships, with the values the README says to set, as an operator would: name -> value."""
    values = {name: f"{name.lower().replace('_', '-')}-{'x' * 40}" for name in readme_first_start_values()}
    env: dict[str, str] = {}
    for line in _env_example_lines():
        if re.match(r"\w+=", line):
            name, value = line.split("=", 1)
            env[name] = values.pop(name, value)
    assert values == {}, f"the README says to set {sorted(values)}, which .env.example does not offer"
    return env


def _run_compose(
    cmd: list[str], project: Path, *args: str, files: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    name = [] if cmd[-1] == "compose" else ["-p", "camvault"]
    paths = [arg for path in ("docker-compose.yml", *files) for arg in ("-f", str(project / path))]
    return subprocess.run(
        [*cmd, *name, *paths, *args],
        cwd=project,
        env=_compose_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def _published_services(compose: dict) -> set[str]:
    return {name for name, service in compose["services"].items() if service.get("ports")}


def _assert_shape(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == {"db", "migrate", "app", "nginx"}
    assert _published_services(compose) == {"nginx"}, "only nginx may publish a port"
    depends = services["app"]["depends_on"]
    assert isinstance(depends, dict), "app must wait with conditions, not the list form"
    assert depends["db"]["condition"] == "service_healthy"
    # The app starts once the migration (as the owner) has finished; it never migrates itself.
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["command"] == ["migrate"]
    # Nginx starts once the app answers its healthcheck, so the first requests meet no 502.
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert "healthcheck" in services["db"] and "pg_isready" in str(services["db"]["healthcheck"]["test"])
    for name in ("db", "app", "nginx"):
        assert services[name].get("restart") == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"
    assert services["db"]["image"].startswith("postgres:17")
    assert services["nginx"]["image"].startswith("nginx:")
    assert {"pgdata", "vault"} <= set(compose["volumes"])


def test_compose_file_shape() -> None:
    compose = _compose()
    _assert_shape(compose)
    app, migrate = compose["services"]["app"], compose["services"]["migrate"]
    assert app["build"] == {"context": ".", "dockerfile": "docker/Dockerfile"}
    assert (migrate["build"], migrate["image"]) == (app["build"], app["image"])
    assert "env_file" not in app, "every .env key would reach the app; name its variables instead"
    assert any(str(v).endswith(":/data") for v in app["volumes"])
    assert app["environment"]["DATA_DIR"] == "/data"
    assert "@db:5432/" in app["environment"]["DATABASE_URL"]
    nginx_mounts = compose["services"]["nginx"]["volumes"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx_mounts
    assert "./app/static:/usr/share/nginx/html:ro" in nginx_mounts


def test_the_project_has_a_fixed_name_and_the_readme_names_its_volumes() -> None:
    """Without `name:` the volumes are named after the folder: a release unpacked into a new folder would
    start an empty vault and a fresh first admin."""
    compose = _compose()
    assert compose["name"] == "camvault"
    readme = README.read_text()
    for volume in compose["volumes"]:
        assert f"camvault_{volume}" in readme, volume
    assert "<project>_" not in readme


def test_healthchecks_probe_over_tcp_and_every_second_while_starting() -> None:
    services = _compose()["services"]
    db = services["db"]["healthcheck"]
    # The image's first-init server listens on the Unix socket only: a TCP probe cannot take it for ready.
    assert re.search(r"pg_isready -h 127\.0\.0\.1 ", " ".join(db["test"])), db["test"]
    for name in ("db", "app"):
        check = services[name]["healthcheck"]
        assert check["start_interval"] == "1s" and check["start_period"], name
    assert "/healthz" in " ".join(services["app"]["healthcheck"]["test"])


def test_nginx_is_pinned_to_releases_that_know_resolve() -> None:
    """`server app:8000 resolve` is open-source Nginx from 1.27.3 on; `nginx:1.27` also names 1.27.0-1.27.2."""
    image = _compose()["services"]["nginx"]["image"]
    tag = image.split(":", 1)[1]
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", tag), f"pin a version, not {tag!r}"
    version = tuple(int(n) for n in tag.split("."))
    # A two-part tag names every patch release of that minor: all of them must be new enough.
    assert (version[:2] > (1, 27)) if len(version) == 2 else (version >= (1, 27, 3)), image


def _app_variables() -> set[str]:
    """What the app may be given: its settings (with their *_FILE forms) and Gunicorn's worker count."""
    return {name.upper() for name in Settings.model_fields} | {"WEB_CONCURRENCY"}


def test_the_app_gets_its_own_settings_and_nothing_else() -> None:
    services = _compose()["services"]
    app_env = services["app"]["environment"]
    assert set(app_env) <= _app_variables(), f"not the app's: {sorted(set(app_env) - _app_variables())}"
    # The owner's password and the migration URL are the migrate service's alone.
    for name in ("POSTGRES_PASSWORD", "MIGRATION_DATABASE_URL", "MIGRATION_DATABASE_PASSWORD"):
        assert name not in app_env and not any(name in str(v) for v in app_env.values()), name
    # Every setting an operator may change reaches the app; the rest are fixed for the container.
    fixed = {"ENV", "DATA_DIR", "SERVE_STATIC", "HOST", "PORT", "DATABASE_URL", "DATABASE_URL_FILE"}
    owners = {name for name in _app_variables() if name.startswith("MIGRATION_")}
    # Test-suite hooks (honoured only with ENV=test) have no place in a deployment.
    tests_only = {"TEST_WRITE_PAUSE"}
    assert not tests_only & set(app_env)
    missing = _app_variables() - set(app_env) - fixed - owners - tests_only
    assert missing == set(), f"settings that .env cannot give the app: {sorted(missing)}"
    # The app connects as its own role, never as POSTGRES_USER (a superuser in the postgres image).
    assert app_env["DATABASE_URL"].startswith("postgresql+asyncpg://camvault_app@db:5432/")
    migrate = services["migrate"]["environment"]
    assert migrate["MIGRATION_DATABASE_URL"].startswith("postgresql+asyncpg://${POSTGRES_USER")
    assert migrate["MIGRATION_DATABASE_PASSWORD"] == "${POSTGRES_PASSWORD:-}"
    assert migrate["DATABASE_URL"] == app_env["DATABASE_URL"]
    assert set(migrate) <= _app_variables()


def test_compose_config_validates(tmp_path: Path) -> None:
    cmd = _compose_command()
    if cmd is None:
        missing_tool(NO_COMPOSE)
    env = shipped_env_plus_readme_values()
    project = _project(tmp_path, [f"{k}={v}" for k, v in env.items()], cmd)
    result = _run_compose(cmd, project, "config", "-q")
    assert result.returncode == 0, result.stderr

    resolved = _run_compose(cmd, project, "config")
    assert resolved.returncode == 0, resolved.stderr
    compose = yaml.safe_load(resolved.stdout)
    _assert_shape(compose)
    app_env = compose["services"]["app"]["environment"]
    assert app_env["DATA_DIR"] == "/data"
    assert app_env["ENV"] == "production"
    assert app_env["DATABASE_URL"] == "postgresql+asyncpg://camvault_app@db:5432/camvault"
    assert app_env["DATABASE_PASSWORD"] == env["DATABASE_PASSWORD"]
    # Optional settings left commented out in .env reach the app empty, which it reads as unset.
    assert app_env["FIRST_ADMIN_EMAIL"] == "" and app_env["MAX_UPLOAD_BYTES"] == ""
    assert env["POSTGRES_PASSWORD"] not in str(app_env)
    migrate = compose["services"]["migrate"]["environment"]
    assert migrate["MIGRATION_DATABASE_URL"] == "postgresql+asyncpg://camvault@db:5432/camvault"
    assert migrate["MIGRATION_DATABASE_PASSWORD"] == env["POSTGRES_PASSWORD"]


def test_docker_secrets_overlay(tmp_path: Path) -> None:
    """docker/compose.secrets.yml: every secret from a file under /run/secrets, read through the *_FILE settings."""
    overlay = yaml.safe_load(SECRETS_OVERLAY.read_text())
    named = {
        key
        for service in overlay["services"].values()
        for key, value in service.get("environment", {}).items()
        if str(value).startswith("/run/secrets/")
    }
    assert {"SECRET_KEY_FILE", "DATABASE_PASSWORD_FILE", "FIRST_ADMIN_PASSWORD_FILE"} <= named
    assert {"MIGRATION_DATABASE_PASSWORD_FILE", "POSTGRES_PASSWORD_FILE"} <= named
    assert {n.removesuffix("_FILE").lower() for n in named} - {"postgres_password"} <= set(SECRET_FILE_SETTINGS)
    for service in overlay["services"].values():
        for value in service.get("environment", {}).values():
            secret = str(value).removeprefix("/run/secrets/")
            assert secret in service["secrets"] and secret in overlay["secrets"], secret
    cmd = _compose_command()
    if cmd is None:
        missing_tool(NO_COMPOSE)
    # The passwords live in files now: .env names none of them.
    lines = [line for line in _env_example_lines() if not re.match(r"\w*(PASSWORD|SECRET_KEY)=", line)]
    project = _project(tmp_path, lines, cmd)
    resolved = _run_compose(cmd, project, "config", files=("docker/compose.secrets.yml",))
    assert resolved.returncode == 0, resolved.stderr
    services = yaml.safe_load(resolved.stdout)["services"]
    assert services["app"]["environment"]["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
    assert services["app"]["environment"]["SECRET_KEY"] == ""
    assert services["db"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_env_example_names_every_variable_compose_reads() -> None:
    compose_vars = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert compose_vars >= {"POSTGRES_PASSWORD", "DATABASE_PASSWORD", "SECRET_KEY", "HTTP_PORT", "WEB_CONCURRENCY"}
    example = {m.group(1) for line in _env_example_lines() if (m := re.match(r"(?:# )?(\w+)=", line))}
    assert compose_vars - example == set()


# --- nginx ----------------------------------------------------------------------------------


def _size_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()  # type: ignore[union-attr]
    return int(number) * 1024 ** {"": 0, "k": 1, "m": 2, "g": 3}[unit.lower()]


def _location(conf: str, pattern: str) -> str:
    # Each location block closes on a line of its own, at the server block's indentation plus one level.
    block = re.search(rf"location {re.escape(pattern)} {{\n(.*?)\n        }}", conf, re.S)
    assert block, pattern
    return block.group(1)


def test_nginx_conf_contract() -> None:
    conf = NGINX_CONF.read_text()
    # Deployment tooling and the test below rewrite these; they must stay single and literal.
    assert conf.count("server app:8000 resolve;") == 1
    # `resolve` (follow the app's address) needs a resolver, a zone, and Nginx 1.27.3 or later.
    assert "resolver 127.0.0.11 " in conf and re.search(r"upstream camvault {\s*zone \w+ \d+k;", conf)
    assert conf.count("/usr/share/nginx/html") == 1
    assert conf.count("pid /var/run/nginx.pid;") == 1
    # Nothing that carries a query string (a WebSocket ?token=) may be logged.
    formats = re.findall(r"log_format\s+\w+\s+((?:'[^']*'\s*)+);", conf)
    assert formats, "no log_format found"
    for fmt in formats:
        assert "$uri" in fmt
        for leaky in ("$request ", '$request"', "$request_uri", "$args", "$query_string", "$http_referer"):
            assert leaky not in fmt, leaky
    # Every path the app serves is proxied to it (the rest is app/static, served from disk).
    for location in ("/api/", "~ ^/api/files(/[^/]+/checkin)?$", "= /api/cards/import", "/git/", "/docs"):
        assert "proxy_pass http://camvault;" in _location(conf, location), location
    for location in ("= /openapi.json", "= /healthz", "= /readyz", "= /ws"):
        assert "proxy_pass http://camvault;" in _location(conf, location), location
    assert re.search(r"proxy_read_timeout\s+1h;", _location(conf, "= /ws"))
    for line in ("proxy_set_header Upgrade $http_upgrade;", "proxy_set_header Connection $connection_upgrade;"):
        assert line in conf
    assert "proxy_request_buffering off;" in conf
    assert re.search(r"gzip_types[^;]*text/css[^;]*application/javascript[^;]*application/json", conf)
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"):
        assert re.search(rf"add_header\s+{header}\s+.+\s+always;", conf), header
    # No location may add headers of its own: that would drop the security headers above from its answers.
    assert len(re.findall(r"^\s*add_header\s", conf, re.M)) == 4


def test_nginx_body_limits_small_for_json_large_for_uploads_with_headroom() -> None:
    conf = NGINX_CONF.read_text()
    limit = Settings.model_fields["max_upload_bytes"].default
    server_level = re.search(r"\n        client_max_body_size\s+(\w+);", conf)
    assert server_level and _size_bytes(server_level.group(1)) <= 1024**2, "JSON routes: a small limit"
    assert "client_max_body_size" not in _location(conf, "/api/")
    upload = _location(conf, "~ ^/api/files(/[^/]+/checkin)?$")
    size = _size_bytes(re.search(r"client_max_body_size\s+(\w+);", upload).group(1))  # type: ignore[union-attr]
    # The whole multipart request: the file plus part headers, boundaries and form fields.
    assert limit < size <= limit + 4 * 1024**2, "headroom over MAX_UPLOAD_BYTES for multipart framing"
    assert re.search(r"error_page\s+413\s+@too_large;", upload)
    assert re.search(r"error_page\s+413\s+@body_too_large;", _location(conf, "/api/"))
    # Both 413 answers are JSON and name their limit; the upload one names the app's own limit.
    assert f'return 413 \'{{"detail": "Upload exceeds the limit of {limit} bytes"}}\';' in conf
    json_limit = _size_bytes(server_level.group(1))
    assert f'return 413 \'{{"detail": "Request body exceeds the limit of {json_limit} bytes"}}\';' in conf
    assert f"MAX_UPLOAD_BYTES={limit}\n" in ENV_EXAMPLE.read_text()
    # The CSV import of cards: its own location, the app's MAX_CSV_IMPORT_BYTES exactly (a raw body, no framing).
    csv_limit = Settings.model_fields["max_csv_import_bytes"].default
    csv_import = _location(conf, "= /api/cards/import")
    assert _size_bytes(re.search(r"client_max_body_size\s+(\w+);", csv_import).group(1)) == csv_limit  # type: ignore[union-attr]
    assert re.search(r"error_page\s+413\s+@csv_too_large;", csv_import)
    assert f'"detail": "Request body exceeds the limit of {csv_limit} bytes (MAX_CSV_IMPORT_BYTES);' in conf
    assert f"MAX_CSV_IMPORT_BYTES={csv_limit}\n" in ENV_EXAMPLE.read_text()
    # The upload location matches exactly the app's two multipart routes.
    pattern = re.compile(r"^/api/files(/[^/]+/checkin)?$")
    assert pattern.match("/api/files") and pattern.match("/api/files/17/checkin")
    assert not pattern.match("/api/files/17") and not pattern.match("/api/auth/token")


def test_nginx_answers_json_when_the_app_is_down() -> None:
    conf = NGINX_CONF.read_text()
    for location in ("/api/", "~ ^/api/files(/[^/]+/checkin)?$", "= /api/cards/import"):
        block = _location(conf, location)
        assert re.search(r"error_page\s+502\s+@bad_gateway;", block), location
        assert re.search(r"error_page\s+504\s+@gateway_timeout;", block), location
    for name, status in (("@bad_gateway", 502), ("@gateway_timeout", 504)):
        block = _location(conf, name)
        assert "default_type application/json;" in block
        assert re.search(rf"return {status} '\{{\"detail\": \"[^\"]+\"\}}';", block), name


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


# --- the image -------------------------------------------------------------------------------

DOCKERFILE = ROOT / "docker" / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) for each instruction, continuation lines joined, comments dropped."""
    text = re.sub(
        r"\\\n\s*", " ", "\n".join(x for x in DOCKERFILE.read_text().splitlines() if not x.lstrip().startswith("#"))
    )
    return [(m.group(1).upper(), m.group(2)) for m in re.finditer(r"^(\w+)\s+(.*)$", text, re.M)]


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for op, args in _instructions():
        if op == "FROM":
            current = stages.setdefault(args.split()[-1], [])
        current.append((op, args))
    return stages


def test_dockerfile_has_no_syntax_line() -> None:
    """`# syntax=docker/dockerfile:1` makes every build fetch a frontend image from Docker Hub (offline or
    behind a mirror that fails); the builder's own frontend reads this file."""
    assert not re.search(r"^\s*#\s*syntax\s*=", DOCKERFILE.read_text(), re.M | re.I)


def test_dockerfile_contract() -> None:
    stages = _stages()
    assert list(stages)[-1] == "runtime", "multi-stage, ending in the runtime image"
    builder, runtime = stages["builder"], stages["runtime"]
    # The venv layer is the lock file's dependencies, hash-checked, and nothing else: not the app, whose
    # changes would otherwise rebuild it (and which PYTHONPATH=/app makes importable anyway).
    copies = [args for op, args in builder if op == "COPY"]
    assert copies == ["requirements/app.txt /tmp/requirements.txt"]
    installs = [args for op, args in builder if op == "RUN" and "pip install" in args]
    assert installs == ["pip install --require-hashes --no-deps -r /tmp/requirements.txt"]
    assert ("COPY", "--from=builder /opt/venv /opt/venv") in runtime
    env = " ".join(args for op, args in runtime if op == "ENV")
    assert "PYTHONPATH=/app" in env and "PATH=/opt/venv/bin:$PATH" in env
    assert any(op == "RUN" and re.search(r"apt-get install .*\bgit\b", args) for op, args in runtime)
    users = [args for op, args in runtime if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = next(args for op, args in runtime if op == "HEALTHCHECK")
    assert "/healthz" in health
    assert ("ENTRYPOINT", '["/app/docker/entrypoint.sh"]') in runtime
    copied = " ".join(args for op, args in runtime if op == "COPY")
    for needed in ("alembic.ini", "alembic", "app", "docker/entrypoint.sh", "docker/gunicorn.conf.py"):
        assert needed in copied.split(), needed
    assert ("COPY", "docker/camvault /usr/local/bin/camvault") in runtime
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".data", ".git", "backups", "secrets"} <= set(ignored)  # never in the build context


def test_the_images_camvault_command_runs_the_cli() -> None:
    """docker/camvault stands in for the console script pip would have made (the app is not pip-installed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["sh", str(ROOT / "docker" / "camvault"), "--help"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for command in ("serve", "migrate", "create-user", "reindex", "maintain", "doctor"):
        assert command in done.stdout


def _case(script: str, pattern: str) -> list[str]:
    body = script[script.index(pattern) :]
    body = body[: body.index(";;")]
    return [line.strip() for line in body.splitlines()[1:] if line.strip() and not line.strip().startswith("#")]


def test_entrypoint_serves_and_migrate_is_its_own_command() -> None:
    script = (ROOT / "docker" / "entrypoint.sh").read_text()
    # The default serves only: migrations need the owner's password, which the app container never has.
    assert _case(script, '"" | -*)') == [
        "exec 2>&1",
        'exec gunicorn \'app.main:create_app()\' -c "$APP_DIR/docker/gunicorn.conf.py" "$@"',
    ]
    assert _case(script, "    migrate)") == ["exec 2>&1", 'exec camvault "$@"']
    assert "doctor" in script[script.index("serve | create-user") :].split(")")[0]
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
