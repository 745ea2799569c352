"""The `camvault` command: serve, migrate, create-user, reindex, maintain."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from app.core.config import Settings, get_settings
from app.core.db import create_engine, create_sessionmaker, resolve_database_url
from app.core.errors import DomainError
from app.core.security import configure_password_hashing
from app.models import Role

ROOT = Path(__file__).resolve().parent.parent


def run_migrations(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def _read_password(prompt: bool) -> str:
    if prompt and sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Repeat password: "):
            raise SystemExit("Passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\r\n")


async def _create_user(url: str, username: str, password: str, role: Role, email: str | None, full_name: str) -> None:
    from app.schemas.user import UserCreate
    from app.services.users import UserService

    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            body = UserCreate(username=username, password=password, role=role, email=email, full_name=full_name)
            await UserService(session).create(body, actor=None)
    finally:
        await engine.dispose()


def cmd_create_user(args: argparse.Namespace, settings: Settings) -> int:
    from pydantic import ValidationError

    password = _read_password(prompt=True)
    url = resolve_database_url(settings)
    try:
        asyncio.run(_create_user(url, args.username, password, Role(args.role), args.email, args.full_name))
    except ValidationError as exc:
        print(f"error: {exc.errors()[0]['loc'][-1]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    print(f"created {args.role} {args.username}")
    return 0


async def _reindex(url: str, settings: Settings) -> str:
    from app.services.reindex import ReindexService
    from app.storage.git_store import GitStore

    store = GitStore.in_data_dir(settings.data_dir)
    await store.ensure_repo()
    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            report = await ReindexService(session, store).run()
    finally:
        await engine.dispose()
    return (
        f"reindexed {report.commits} commits: {report.files_added} files added, "
        f"{report.files_updated} updated, {report.versions_added} versions added"
        + (
            f", {report.versions_skipped} commits skipped (never committed by the catalog)"
            if report.versions_skipped
            else ""
        )
    )


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    print(asyncio.run(_reindex(resolve_database_url(settings), settings)))
    return 0


async def _maintain(settings: Settings) -> tuple[bool, Path]:
    from app.storage.git_store import GitStore

    store = GitStore.in_data_dir(settings.data_dir)
    await store.ensure_repo()
    await store.repo.maintain()
    return await store.repo.fsck(), store.path


def cmd_maintain(args: argparse.Namespace, settings: Settings) -> int:
    healthy, path = asyncio.run(_maintain(settings))
    if not healthy:
        print("error: git fsck found problems in the vault; see the log", file=sys.stderr)
        return 1
    print(f"vault packed and checked: {path}")
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    run_migrations(resolve_database_url(settings))
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    # This process holds the embedded server for as long as it serves; the server stops with it.
    url = resolve_database_url(settings)
    run_migrations(url)
    settings = settings.model_copy(update={"database_url": url})
    host, port = args.host or settings.host, args.port or settings.port
    if settings.first_admin_username and settings.first_admin_password:
        login_hint = f"log in as {settings.first_admin_username!r} with FIRST_ADMIN_PASSWORD"
    else:
        login_hint = (
            "no FIRST_ADMIN_USERNAME/FIRST_ADMIN_PASSWORD set; create an admin with\n"
            "    .venv/bin/camvault create-user admin --role admin"
        )
    print(f"\n  camvault on http://{host}:{port}  (API docs: http://{host}:{port}/docs)\n  {login_hint}\n", flush=True)

    from app.main import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, proxy_headers=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="camvault", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, then serve UI and API (development; production uses Gunicorn)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="alembic upgrade head").set_defaults(func=cmd_migrate)

    create = sub.add_parser("create-user", help="create a user; the password is prompted for or read from stdin")
    create.add_argument("username")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.user.value)
    create.add_argument("--email")
    create.add_argument("--full-name", default="")
    create.set_defaults(func=cmd_create_user)

    sub.add_parser("reindex", help="rebuild the file catalog from the Git history (idempotent)").set_defaults(
        func=cmd_reindex
    )

    sub.add_parser(
        "maintain", help="pack and prune the Git vault (git gc), then verify it (git fsck); safe while serving"
    ).set_defaults(func=cmd_maintain)

    args = parser.parse_args(argv)
    settings = get_settings()
    configure_password_hashing(settings.password_hash_cost)
    return int(args.func(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
