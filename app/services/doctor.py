"""`camvault doctor`: check an installation and say what to fix.

Every check reads; nothing is changed. The catalog check runs the real reindex inside a transaction that is
rolled back, so what it reports is exactly what `camvault reindex` would do.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.errors import DomainError
from app.nc import FACTS_VERSION
from app.repositories.health import ping
from app.repositories.installation import live_paths, locks_of_inactive_users, version_commits
from app.repositories.program_facts import VersionFactsRepository
from app.services.database_checks import Finding, migration_findings, role_findings
from app.services.facts_backstop import GRACE
from app.services.paths import normalise_vault_path, path_key
from app.services.reindex import ReindexReport, ReindexService, replay
from app.storage.git_store import CommitInfo, GitStore

# A ref lock this old has no live writer behind it: a write holds it for milliseconds.
# Long lists (names, rows) are cut here; the count is always complete.
SHOWN = 20


@dataclass
class Check:
    name: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)
    fix: str | None = None
    # Worth fixing, but nothing is wrong or at risk (derived data that can be rebuilt): printed with its fix, and
    # the exit status stays 0.
    warning: bool = False


def _listed(items: list[str]) -> list[str]:
    return items[:SHOWN] + ([f"... and {len(items) - SHOWN} more"] if len(items) > SHOWN else [])


class DoctorService:
    def __init__(self, settings: Settings, engine: AsyncEngine, store: GitStore) -> None:
        self.settings = settings
        self.engine = engine
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        self.store = store

    async def run(self) -> list[Check]:
        checks = [await self.database()]
        database_ok = checks[0].ok
        if database_ok:
            checks.append(await self.schema())
            database_ok = checks[-1].ok
        if database_ok:
            checks.append(await self.roles())
        checks.append(self.ref_lock())
        checks.append(await self.git())
        git_ok = checks[-1].ok
        if database_ok and git_ok:
            checks.append(await self.catalog())
        if database_ok:
            checks.append(await self.program_facts())
            checks.append(await self.names())
            checks.append(await self.locks())
        checks.append(self.disk())
        checks.append(self.production_settings())
        return checks

    # ----- database ------------------------------------------------------------------------------------------

    async def database(self) -> Check:
        try:
            async with self.sessionmaker() as session:
                await ping(session)
        except Exception as exc:  # any failure is the finding itself
            return Check(
                "database",
                False,
                f"cannot connect: {type(exc).__name__}: {exc}".strip(),
                fix="check DATABASE_URL / DATABASE_PASSWORD and that PostgreSQL runs (compose: `docker compose ps db`)",
            )
        return Check("database", True, f"reachable as {self.engine.url.username}")

    async def schema(self) -> Check:
        async with self.sessionmaker() as session:
            findings = await migration_findings(session)
        return self._from_findings("schema", findings, "migrated to this release's head")

    async def roles(self) -> Check:
        async with self.sessionmaker() as session:
            findings = await role_findings(session)
        return self._from_findings("roles", findings, "the app's role can only add and read audit rows")

    @staticmethod
    def _from_findings(name: str, findings: list[Finding], fine: str) -> Check:
        if not findings:
            return Check(name, True, fine)
        return Check(name, False, "; ".join(f.problem for f in findings), fix="; ".join(f.fix for f in findings))

    # ----- Git -----------------------------------------------------------------------------------------------

    def ref_lock(self) -> Check:
        locks = self.store.repo.ref_locks()
        stale = [lock for lock in locks if lock.stale]
        if not stale:
            if locks:
                return Check("ref lock", True, f"{len(locks)} ref lock(s) held by a write in progress")
            return Check("ref lock", True, "no ref lock files")
        names = ", ".join(f"{lock.path} ({lock.age_seconds:.0f} s old)" for lock in stale)
        return Check(
            "ref lock",
            False,
            f"stale ref lock left by a crash: {names}; writes still commit, but the Git branch cannot follow "
            "the catalog until it is gone",
            fix=f"make sure no camvault or git process is writing, then delete {' '.join(str(x.path) for x in stale)}"
            " (a running app removes it itself on its next sweep, within LOCK_SWEEP_SECONDS)",
        )

    async def git(self) -> Check:
        if not (self.store.path / "HEAD").exists():
            return Check(
                "git",
                False,
                f"no repository at {self.store.path}",
                fix="check DATA_DIR (the app creates an empty vault on its first start; restore one with "
                "docker/restore.sh)",
            )
        if not await self.store.repo.fsck():
            return Check(
                "git",
                False,
                f"git fsck finds problems in {self.store.path}",
                fix=f"run `git -C {self.store.path} fsck` to see them; restore the vault from the last backup "
                "(docker/restore.sh) if objects are missing or corrupt",
            )
        return Check("git", True, "git fsck is clean")

    async def catalog(self) -> Check:
        problems: list[str] = []
        try:
            report = await self._reindex_dry_run()
        except Exception as exc:  # the dry run failing is itself what doctor must report
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            problems.append(f"`camvault reindex` would fail ({type(exc).__name__}: {first_line})")
        else:
            if report.files_added or report.files_updated or report.versions_added:
                problems.append(
                    f"`camvault reindex` would add {report.files_added} files, update {report.files_updated} and "
                    f"add {report.versions_added} versions (Git has commits the catalog lacks)"
                )
            if report.revisions_added or report.states_updated:
                problems.append(
                    f"`camvault reindex` would add {report.revisions_added} revisions and correct "
                    f"{report.states_updated} files' lifecycle states (the released branch says otherwise)"
                )
        lacking = await self._rows_git_lacks()
        if lacking:
            problems.append(f"{len(lacking)} catalog versions name a commit or content Git does not have")
        if not problems:
            return Check("catalog", True, "the catalog equals Git")
        return Check(
            "catalog",
            False,
            "; ".join(problems),
            details=_listed(lacking),
            fix="run `camvault reindex` for commits the catalog lacks; versions Git lacks were lost from the vault "
            "(or the catalog was edited by hand): restore both from one backup (docker/restore.sh)",
        )

    async def _reindex_dry_run(self) -> ReindexReport:
        # The reindex commits its own work; joined to an outer transaction with create_savepoint, its commit only
        # releases a savepoint, and the outer rollback undoes everything (SQLAlchemy's documented recipe).
        async with self.engine.connect() as connection:
            outer = await connection.begin()
            try:
                session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
                try:
                    return await ReindexService(session, self.store).run()
                finally:
                    await session.close()
            finally:
                await outer.rollback()

    async def _commits(self) -> list[CommitInfo]:
        head = await self.store.reads.ref(self.store.ref)
        return await self.store.history.commits(head) if head else []

    async def _rows_git_lacks(self) -> list[str]:
        in_git = {
            (path_key(version.path), version.commit, version.blob)
            for file in replay(await self._commits())
            for version in file.versions
        }
        async with self.sessionmaker() as session:
            rows = await version_commits(session)
        return [
            f"{path} v{version}: commit {commit[:12]}, content {blob[:12]}"
            for path, version, commit, blob in rows
            if (path_key(path), commit, blob) not in in_git
        ]

    # ----- catalog rules -------------------------------------------------------------------------------------

    async def names(self) -> Check:
        async with self.sessionmaker() as session:
            paths = await live_paths(session)
        broken: list[str] = []
        for _file_id, path in paths:
            try:
                if normalise_vault_path(path, self.settings.allowed_extensions) != path:
                    broken.append(f"{path!r}: not in the canonical (NFC) form")
            except DomainError as exc:
                broken.append(f"{path!r}: {exc.detail}")
        if not broken:
            return Check("names", True, f"all {len(paths)} live paths follow the current name rules")
        return Check(
            "names",
            False,
            f"{len(broken)} of {len(paths)} live paths break the current name rules (they still work here, but "
            "some clients cannot check them out)",
            details=_listed(broken),
            fix="upload each under a valid name and delete the old one (its history stays with the deleted file)",
        )

    async def locks(self) -> Check:
        async with self.sessionmaker() as session:
            rows = await locks_of_inactive_users(session)
        if not rows:
            return Check("locks", True, "no lock is held by a deactivated user")
        users = sorted({(name, user_id) for _path, name, user_id in rows})
        return Check(
            "locks",
            False,
            f"{len(rows)} locks are held by deactivated users ({', '.join(name for name, _ in users)})",
            details=_listed([f"{path}: {name}" for path, name, _ in rows]),
            fix="an admin releases them: Users page, *Release locks*, or "
            + ", ".join(f"POST /api/admin/users/{user_id}/release-locks" for _, user_id in users),
        )

    async def program_facts(self) -> Check:
        """NC versions without facts of the current parser (made before facts existed, by an older parser, a parse
        that failed, a lost after-commit task). A warning: facts are derived from Git, nothing is lost, the vault
        works without them, and reindex computes them. Versions younger than the backstop's grace are left out: a
        large program's facts are being computed right after its upload, which must not make a healthy vault warn."""
        before = datetime.now(UTC) - GRACE
        async with self.sessionmaker() as session:
            count = await VersionFactsRepository(session).count_lacking(self.settings.nc_extensions, made_before=before)
        if not count:
            return Check("facts", True, f"every NC version has program facts (parser version {FACTS_VERSION})")
        return Check(
            "facts",
            True,
            f"{count} version{'s' if count != 1 else ''} of NC programs lack program facts, or have facts of an older "
            "parser (binary files with an NC extension never have any)",
            fix="run `camvault reindex` (it computes them; the file list's columns and the compare use them)",
            warning=True,
        )

    # ----- the host and the settings -------------------------------------------------------------------------

    def disk(self) -> Check:
        where = _existing_parent(self.settings.data_dir)
        free = shutil.disk_usage(where).free
        limit = self.settings.min_free_disk_bytes
        summary = f"{free / 1024**3:.1f} GiB free under {where} (threshold {limit / 1024**3:.1f} GiB)"
        if free >= limit:
            return Check("disk", True, summary)
        return Check(
            "disk",
            False,
            summary,
            fix="free space or move DATA_DIR to a larger disk; `camvault maintain` packs the vault "
            "(MIN_FREE_DISK_BYTES "
            "sets the threshold)",
        )

    def production_settings(self) -> Check:
        risks = production_risks(self.settings)
        if self.settings.env != "production":
            note = f"ENV={self.settings.env}: not checked as production"
            return Check("settings", True, note + (f" ({len(risks)} would matter there)" if risks else ""), risks)
        if not risks:
            return Check("settings", True, "nothing unsafe for production")
        return Check("settings", False, f"{len(risks)} settings are unsafe in production", risks, fix="see each line")


def production_risks(settings: Settings) -> list[str]:
    """Settings that are fine on a developer's machine and wrong on a shop's server."""
    risks: list[str] = []
    if settings.secret_key is None:
        risks.append("SECRET_KEY is unset: tokens are signed with a key kept in DATA_DIR; set SECRET_KEY")
    if settings.password_hash_cost != "standard":
        risks.append("PASSWORD_HASH_COST=low makes password hashes cheap to crack; remove it")
    risks += [f"{name} is an example password; set a real one" for name in settings.example_passwords_in_use()]
    if settings.first_admin_password is not None:
        risks.append("FIRST_ADMIN_PASSWORD is still set: once the admin exists, remove it from the environment")
    if settings.allow_signup:
        risks.append("ALLOW_SIGNUP=true: anyone who reaches the site can make an account; make sure it is meant")
    if "*" in settings.cors_origins:
        risks.append("CORS_ORIGINS=*: any web site may call the API with a user's token; list the real origins")
    if settings.log_level.upper() == "DEBUG":
        risks.append("LOG_LEVEL=DEBUG logs more than operations need; use INFO")
    return risks


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path
