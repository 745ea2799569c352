"""The `camvault` command: serve, migrate, create-user, reindex, release-all, maintain, doctor."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from app.core.config import Settings, get_settings
from app.core.database_roles import AppRole
from app.core.db import (
    app_role_for,
    create_engine,
    create_sessionmaker,
    resolve_database_url,
    resolve_migration_url,
)
from app.core.errors import DomainError
from app.core.security import configure_password_hashing
from app.models import Role

ROOT = Path(__file__).resolve().parent.parent


def run_migrations(database_url: str, app_role: AppRole | None = None) -> None:
    """`alembic upgrade head` as the owner of `database_url`, then grant `app_role` the app's privileges."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["app_role"] = app_role
    command.upgrade(config, "head")


def migrate(settings: Settings) -> str:
    """Migrate as the owner (MIGRATION_DATABASE_URL, or the embedded superuser) and grant the app's role; return
    what was done, in words."""
    from sqlalchemy.engine import make_url

    url = resolve_migration_url(settings)
    role = app_role_for(settings, url)
    run_migrations(url, role)
    owner = make_url(url).username
    if role is None:
        return f"migrated as {owner}; the app connects as the same role (no separate app role to grant)"
    return f"migrated as {owner}; the app's role {role.name} may read and write rows, and only add and read audit rows"


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
    from app.services.reindex import FactsReindex, ReindexService
    from app.storage.git_store import GitStore

    store = GitStore.in_data_dir(settings.data_dir)
    await store.ensure_repo()
    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            report = await ReindexService(session, store).run()
            facts = await FactsReindex(session, store, settings).run()
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
        + f"; {report.revisions_added} revisions added, {report.states_updated} lifecycle states corrected"
        + f"; program facts of {facts.computed} versions computed"
        + (f" ({facts.without} NC versions have none: not text, or not parsed)" if facts.without else "")
    )


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    print(asyncio.run(_reindex(resolve_database_url(settings), settings)))
    return 0


async def _release_all(url: str, settings: Settings, approver: str, folder: str | None, revision: str | None) -> str:
    from app.core.errors import NotFound
    from app.repositories.users import UserRepository
    from app.services.lifecycle import LifecycleService
    from app.storage.git_store import GitStore
    from app.vault.pipeline import Vault

    store = GitStore.in_data_dir(settings.data_dir)
    await store.ensure_repo()
    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await UserRepository(session).get_by_username(approver)
            if user is None:
                raise NotFound(f"No user {approver!r}")
            service = LifecycleService(session, settings, Vault(session, store, settings))
            out = await service.release_all(user, folder, revision)
    finally:
        await engine.dispose()
    where = f"in {out.folder!r} and below" if out.folder else "in the vault"
    skipped = ", ".join(f"{count} {why.replace('_', ' ')}" for why, count in sorted(out.skipped.items()))
    return (
        f"released {out.released} files {where} as revision {out.revision}, approved by {approver}"
        + (f" (commit {out.commit[:12]} on the released branch)" if out.commit else "")
        + (f"; skipped {skipped}" if skipped else "")
    )


def cmd_release_all(args: argparse.Namespace, settings: Settings) -> int:
    try:
        print(
            asyncio.run(
                _release_all(resolve_database_url(settings), settings, args.approver, args.folder, args.revision)
            )
        )
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
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


async def _doctor(settings: Settings) -> int:
    from app.services.doctor import DoctorService
    from app.storage.git_store import GitStore

    engine = create_engine(await asyncio.to_thread(resolve_database_url, settings), pool_size=1)
    try:
        # No ensure_repo: doctor reports a missing vault instead of creating one.
        checks = await DoctorService(settings, engine, GitStore(settings.data_dir / "vault.git")).run()
    finally:
        await engine.dispose()
    print(f"camvault doctor: ENV={settings.env} DATA_DIR={settings.data_dir.absolute()}")
    for check in checks:
        label = "warning" if check.warning else "ok" if check.ok else "PROBLEM"
        print(f"  {label:<8} {check.name:<9} {check.summary}")
        for line in check.details:
            print(f"{'':20}- {line}")
        if check.fix and (check.warning or not check.ok):
            print(f"{'':20}fix: {check.fix}")
    problems = sum(not check.ok for check in checks)
    print(f"{problems} problem{'s' if problems != 1 else ''} found" if problems else "no problems found")
    return 1 if problems else 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_doctor(settings))


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    print(migrate(settings), flush=True)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    # This process holds the embedded server for as long as it serves; the server stops with it.
    migrate(settings)
    url = resolve_database_url(settings)
    settings = settings.model_copy(update={"database_url": url, "database_password": None})
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

    release_all = sub.add_parser(
        "release-all",
        help="adopt an existing library: release every never-released file (in --folder and below) at its head "
        "version, in one audited step (files in review or obsolete are skipped)",
    )
    release_all.add_argument("--approver", required=True, help="the admin or approver releasing them (username)")
    release_all.add_argument("--folder", help="only this folder and below (default: the whole vault)")
    release_all.add_argument("--revision", help="the label to give them (default: the first, A or 1)")
    release_all.set_defaults(func=cmd_release_all)

    sub.add_parser(
        "maintain", help="pack and prune the Git vault (git gc), then verify it (git fsck); safe while serving"
    ).set_defaults(func=cmd_maintain)

    sub.add_parser(
        "doctor",
        help="check the installation (database, migrations, roles, Git, catalog = Git, names, locks, disk, "
        "settings) and say what to fix; exit status 1 when something is wrong",
    ).set_defaults(func=cmd_doctor)

    args = parser.parse_args(argv)
    settings = get_settings()
    configure_password_hashing(settings.password_hash_cost)
    return int(args.func(args, settings))


if __name__ == "__main__":
    raise SystemExit(main())
