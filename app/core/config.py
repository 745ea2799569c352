"""Settings: the one place that reads the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.nc import DEFAULT_NC_EXTENSIONS, DEFAULT_RAPID_RATE_MM_MIN

# The value shipped in .env.example; production refuses to start with it.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"

# Passwords that appear in our examples (older .env.example files, the README) or that anyone would guess first:
# production refuses them for the database and the first admin.
EXAMPLE_PASSWORDS = frozenset(
    {"change-me-too", "change-me", "changeme", "change-me-three", "password", "postgres", "secret", "a long password"}
)

# Secrets that may come from a file instead (Docker secrets): NAME_FILE=/run/secrets/name sets NAME.
SECRET_FILE_SETTINGS = (
    "secret_key",
    "database_url",
    "database_password",
    "migration_database_url",
    "migration_database_password",
    "first_admin_password",
)

DEFAULT_EXTENSIONS = (
    ".mcam,.nc,.tap,.gcode,.ngc,.eia,.mpf,.h,.txt,.pdf,.step,.stp,.dxf,.igs,.iges,.stl,.csv,.md,.xlsx,.docx,.png,.jpg"
)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting is reported by name, never with the secrets beside it.
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    env: Literal["development", "production", "test"] = "development"
    database_url: str | None = None
    # Test each pooled connection before use (a round trip per checkout). Off, a connection that died
    # (database restart) fails its first statement instead; GET and HEAD requests then run once more on a
    # fresh connection and other requests answer 503 with Retry-After.
    database_pool_pre_ping: bool = False
    # Connections each worker keeps open. A request beyond them waits for a free one (the pool's 30 s) instead of
    # opening another: a connection opened for a burst costs PostgreSQL a new backend process and the worker its
    # type lookups and prepared statements again, and is closed when the burst ends (issue 20: a round of 100
    # racing check-outs took half as long). Workers times this, plus a few, must stay under max_connections.
    database_pool_size: int = Field(default=20, ge=1, le=500)
    # How long a worker's event listener waits to connect to the database; a worker starting while the database
    # is down serves after this long (/readyz reports the database) and keeps retrying in the background.
    database_connect_timeout_seconds: float = Field(default=10, gt=0, le=300)
    data_dir: Path = Path(".data")
    secret_key: str | None = None
    access_token_expire_minutes: int = Field(default=12 * 60, ge=1)
    # A download link only has to live from the click to the browser's request.
    download_link_seconds: int = Field(default=60, ge=1, le=3600)

    allowed_extensions: Annotated[list[str], NoDecode] = Field(default_factory=lambda: DEFAULT_EXTENSIONS.split(","))
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)
    # Every request body the app reads into memory (JSON, forms: everything but uploads and check-ins,
    # which stream to disk under MAX_UPLOAD_BYTES) is refused with 413 past this many bytes.
    max_json_body_bytes: int = Field(default=1024**2, ge=1024)
    # A CSV import of card values (a shop's part list, tens of thousands of rows) has a limit of its own.
    max_csv_import_bytes: int = Field(default=32 * 1024**2, ge=1024)
    # Files under DATA_DIR/tmp not written to for this long are left by a killed worker's upload: swept at
    # start-up and every TEMP_SWEEP_SECONDS (app/services/temp_files.py says why that is safe).
    temp_file_max_age_seconds: float = Field(default=3600, gt=0)
    temp_sweep_seconds: float = Field(default=300, gt=0)

    # NC programs: which files are programs, and the rapid rate their estimated cycle time assumes.
    nc_extensions: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_NC_EXTENSIONS))
    rapid_rate_mm_min: float = Field(default=DEFAULT_RAPID_RATE_MM_MIN, gt=0, le=1_000_000)
    # Programs up to this size get their facts before the upload or check-in answers; larger ones right after the
    # version is committed, in the background (README, "NC programs": `facts_pending`).
    nc_facts_inline_bytes: int = Field(default=1024**2, ge=0)

    lock_ttl_seconds: int = Field(default=8 * 3600, ge=0)
    lock_sweep_seconds: float = Field(default=5, gt=0)
    edit_cooldown_seconds: int = Field(default=15, ge=0)

    # Release lifecycle (README, "Release lifecycle"): revision labels (letters A, B, … Y, AA skipping I O Q S X Z,
    # or numbers 1, 2, 3), how many distinct approvers release a file, whether a submitter may approve their own
    # submission, and whether viewers (the shop floor) see work in progress or only released revisions.
    revision_scheme: Literal["letters", "numeric"] = "letters"
    release_approvals: int = Field(default=1, ge=1, le=10)
    allow_self_approval: bool = False
    viewers_see_work: bool = False

    # WebSockets (/ws): messages a socket may have waiting before it is closed as too slow; how
    # often each worker refreshes its presence rows and sweeps those of dead workers; how old a
    # presence heartbeat may get before its row counts as dead even if its database session lives.
    ws_send_queue_size: int = Field(default=1000, ge=1)
    ws_presence_sweep_seconds: float = Field(default=5, gt=0)
    ws_presence_stale_seconds: float = Field(default=60, gt=0)

    # Cost of new password hashes: "standard" (argon2id defaults) or "low" (test suites only; refused in production).
    password_hash_cost: Literal["standard", "low"] = "standard"

    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_ip: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=300, ge=1)

    allow_signup: bool = False
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    first_admin_username: str | None = None
    first_admin_password: str | None = None
    first_admin_email: str | None = None

    # Tests only (honoured with ENV=test): a vault write stops for ever at this point, so a test can kill the
    # worker there: "before_commit" (Git objects written, catalog not committed), "before_ref_move".
    test_write_pause: Literal["before_commit", "before_ref_move"] | None = None

    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    serve_static: bool = True
    host: str = "127.0.0.1"
    port: int = 8000

    # --- database roles and secrets files ------------------------------------------------------------
    # The app connects with DATABASE_URL as a role that may only read and write rows (and only add audit
    # rows); DATABASE_PASSWORD, when set, is that connection's password (so it can come from a file and
    # needs no URL quoting). Migrations connect with MIGRATION_DATABASE_URL as the schema's owner; unset,
    # they use DATABASE_URL (one role for both: the start-up check warns, or refuses with ENV=production).
    database_password: str | None = None
    migration_database_url: str | None = None
    migration_database_password: str | None = None
    # Each of these names a file holding the value of the setting without _FILE (Docker secrets).
    secret_key_file: Path | None = None
    database_url_file: Path | None = None
    database_password_file: Path | None = None
    migration_database_url_file: Path | None = None
    migration_database_password_file: Path | None = None
    first_admin_password_file: Path | None = None

    # --- camvault doctor -----------------------------------------------------------------------------
    # Free space under DATA_DIR below which doctor reports a problem (uploads are spooled there, Git packs there)
    # and /readyz reports "disk": "low" (status "degraded", still 200: reads and uploads that fit still work).
    min_free_disk_bytes: int = Field(default=5 * 1024**3, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset_then_read_secret_files(cls, data: object) -> object:
        if not isinstance(data, dict):
            return data
        # `NAME=` in .env or compose's `NAME: ${NAME:-}` means "not set": the default applies, for every setting.
        data = {key: value for key, value in data.items() if value != ""}
        for name in SECRET_FILE_SETTINGS:
            source = data.get(f"{name}_file")
            if source is None:
                continue
            if data.get(name) is not None:
                raise ValueError(f"{name.upper()} and {name.upper()}_FILE are both set; set one of them")
            try:
                # A secrets file usually ends with a newline that is not part of the secret.
                data[name] = Path(source).read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                raise ValueError(f"{name.upper()}_FILE: cannot read {source}: {exc.strerror}") from None
        return data

    @field_validator("allowed_extensions", "nc_extensions", mode="before")
    @classmethod
    def _parse_extensions(cls, value: object) -> object:
        value = _split_csv(value)
        if isinstance(value, list):
            return [e.lower() if e.startswith(".") else "." + e.lower() for e in value]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: object) -> object:
        return _split_csv(value)

    @model_validator(mode="after")
    def _production_needs_a_real_secret(self) -> Settings:
        if self.env == "production" and self.secret_key in (None, EXAMPLE_SECRET_KEY):
            raise ValueError(
                "SECRET_KEY must be set to a long random value when ENV=production "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.secret_key is not None and self.env == "production" and len(self.secret_key) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters when ENV=production")
        if self.env == "production" and self.password_hash_cost != "standard":
            raise ValueError("PASSWORD_HASH_COST=low is for test suites; it is refused when ENV=production")
        if self.env == "production" and (examples := self.example_passwords_in_use()):
            raise ValueError(f"{examples[0]} is an example password; set a real one (ENV=production refuses it)")
        if self.ws_presence_stale_seconds < 2 * self.ws_presence_sweep_seconds:
            # A live worker refreshes its heartbeat once per sweep; anything tighter would let a
            # slow refresh make its users look gone.
            raise ValueError("WS_PRESENCE_STALE_SECONDS must be at least twice WS_PRESENCE_SWEEP_SECONDS")
        return self

    def example_passwords_in_use(self) -> list[str]:
        """The settings whose password is one of EXAMPLE_PASSWORDS (doctor reports them in any ENV)."""
        candidates = {
            "DATABASE_PASSWORD": self.database_password,
            "the password in DATABASE_URL": _url_password(self.database_url),
            "MIGRATION_DATABASE_PASSWORD": self.migration_database_password,
            "the password in MIGRATION_DATABASE_URL": _url_password(self.migration_database_url),
            "FIRST_ADMIN_PASSWORD": self.first_admin_password,
        }
        return [name for name, value in candidates.items() if value is not None and value in EXAMPLE_PASSWORDS]

    @property
    def jwt_secret(self) -> str:
        """The signing key; outside production an unset key falls back to one kept in DATA_DIR."""
        if self.secret_key is not None:
            return self.secret_key
        return _development_secret(self.data_dir)


def _url_password(url: str | None) -> str | None:
    if not url:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).password  # type: ignore[return-value]
    except ArgumentError:
        return None  # not a URL at all: the database driver says so when it is used


def _development_secret(data_dir: Path) -> str:
    # A per-installation random key, so a forgotten SECRET_KEY in development never means a
    # guessable key; every worker reads the same file.
    import os
    import secrets

    path = data_dir / "dev-secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{secrets.token_hex(4)}")
        tmp.write_text(secrets.token_urlsafe(48))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # first writer wins, racing workers agree on one key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
